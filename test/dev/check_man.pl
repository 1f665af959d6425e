#!/usr/bin/perl
# check_man.pl - the manual pages as `cmake --install` puts them, checked against the library.
#
#   check_man.pl lint  CMAKE BUILD_DIR MANDIR [EXTRA_PAGE...]
#   check_man.pl names CMAKE BUILD_DIR MANDIR MAP INCLUDE_DIR...
#
# Both install the `man` component of BUILD_DIR into a scratch DESTDIR and look at MANDIR there
# (CMAKE_INSTALL_FULL_MANDIR), so a page or link the install rules forget counts as missing.
#
# lint: every page (not the links) passes `mandoc -T lint -W warning` and `groff -ww -z -mandoc`
# without a message; so does each EXTRA_PAGE (the generated example thread_server.8).
#
# names: every function declared LUST_API in INCLUDE_DIR/lust/*.h, every public macro there, and
# every symbol of the version script MAP is reachable as man3/NAME.3, a page or a link to one;
# that page lists NAME in NAME (functions), includes NAME's header in its SYNOPSIS, and shows
# NAME's prototype there exactly as the header declares it (return type, name, each parameter's
# type and name), or its #define with the same parameters (and value, when the page gives one).
# A SYNOPSIS prototype or #define with no declaration in the headers fails too, and so does a
# link to a page that does not document the link's name.
use strict;
use warnings;
use File::Temp qw(tempdir);
use File::Basename qw(basename);

# Header plumbing, not API: the export attribute, the C++ guards, the printf attribute.
my %NOT_API = map { $_ => 1 } qw(LUST_API LUST_BEGIN_DECLS LUST_END_DECLS LUST_LOG_PRINTF);

my @failures;
sub fail { push @failures, join('', @_) }

my ($mode, $cmake, $build, $mandir, @rest) = @ARGV;
die "usage: $0 lint|names CMAKE BUILD_DIR MANDIR ...\n"
    unless defined $mandir && ($mode eq 'lint' || $mode eq 'names');

my $destdir = tempdir(CLEANUP => 1);
{
    local $ENV{DESTDIR} = $destdir;
    my $log = `"$cmake" --install "$build" --component man 2>&1`;
    die "cmake --install --component man failed:\n$log" if $?;
}
my $root = "$destdir$mandir";
-d "$root/man3" or die "no $root/man3 after the install\n";

if ($mode eq 'lint') {
    lint(@rest);
} else {
    names(@rest);
}
if (@failures) {
    print "FAIL: $_\n" for @failures;
    exit 1;
}
exit 0;

# ---- lint ----

sub run_quiet {
    my (@cmd) = @_;
    my $out = `@cmd 2>&1`;
    return ($?, $out);
}

sub lint {
    my @extra = @_;
    my @pages = grep { -f $_ && !-l $_ } glob("$root/man*/*");
    fail("no pages installed under $root") unless @pages;
    for my $page (@pages, @extra) {
        my $name = $page =~ s{^\Q$root\E/}{}r;
        my ($rc, $out) = run_quiet('mandoc', '-T', 'lint', '-W', 'warning', "'$page'");
        fail("mandoc -T lint $name:\n$out") if $rc || $out ne '';
        ($rc, $out) = run_quiet('groff', '-ww', '-z', '-mandoc', "'$page'");
        fail("groff -ww -z -mandoc $name:\n$out") if $rc || $out ne '';
    }
    printf "man pages lint-clean: %d pages (mandoc -T lint -W warning, groff -ww)\n",
        scalar(@pages) + scalar(@extra) unless @failures;
}

# ---- names ----

# "const  char*  path" -> "const char *path": one space before each run of stars, none after.
sub norm {
    my ($s) = @_;
    $s =~ s/\s+/ /g;
    $s =~ s/\s*(\*+)\s*/ $1/g;
    $s =~ s/^\s+|\s+$//g;
    return $s;
}

# Split "a, b(c, d), e" at the commas outside parentheses.
sub split_params {
    my ($s) = @_;
    my (@out, $depth, $cur);
    ($depth, $cur) = (0, '');
    for my $c (split //, $s) {
        $depth++ if $c eq '(';
        $depth-- if $c eq ')';
        if ($c eq ',' && $depth == 0) {
            push @out, norm($cur);
            $cur = '';
        } else {
            $cur .= $c;
        }
    }
    push @out, norm($cur) if $cur =~ /\S/;
    return @out;
}

# Functions: name => {type, params => [...], header}. Macros: name => {params|undef, value, header}.
sub read_headers {
    my (@dirs) = @_;
    my (%func, %macro);
    my %seen;
    for my $file (map { glob("$_/lust/*.h") } @dirs) {
        my $header = 'lust/' . basename($file);
        next if $seen{$header}++;
        open my $fh, '<', $file or die "$file: $!\n";
        my $text = do { local $/; <$fh> };
        $text =~ s{/\*.*?\*/}{ }gs;
        $text =~ s{//[^\n]*}{}g;
        $text =~ s/\\\n/ /g;
        for my $line (split /\n/, $text) {
            next unless $line =~ /^\s*#\s*define\s+(\w+)(\(([^)]*)\))?\s*(.*?)\s*$/;
            my ($name, $params, $value) = ($1, $2 ? $3 : undef, $4);
            next if $name =~ /_H$/ || $NOT_API{$name};
            $macro{$name} = {
                params => defined $params ? [split_params($params)] : undef,
                value  => $value,
                header => $header,
            };
        }
        $text =~ s/^\s*#[^\n]*//mg;
        while ($text =~ /\bLUST_API\b(.*?);/gs) {
            my $decl = $1;
            $decl =~ /^(.*?)\b(\w+)\s*\(/s or die "$file: cannot read the declaration: $decl\n";
            my ($type, $name) = (norm($1), $2);
            my $start = $+[0];
            my ($depth, $end) = (1, $start);
            while ($depth > 0 && $end < length $decl) {
                my $c = substr($decl, $end++, 1);
                $depth++ if $c eq '(';
                $depth-- if $c eq ')';
            }
            my $params = substr($decl, $start, $end - $start - 1);
            $func{$name} = {type => $type, params => [split_params($params)], header => $header};
        }
    }
    return (\%func, \%macro);
}

sub read_map {
    my ($map) = @_;
    open my $fh, '<', $map or die "$map: $!\n";
    my $text = do { local $/; <$fh> };
    $text =~ s{/\*.*?\*/}{}gs;
    my @names;
    my $local = 0;
    for my $line (split /\n/, $text) {
        $local = 1 if $line =~ /\blocal:/;
        $local = 0 if $line =~ /\bglobal:/ || $line =~ /\}/;
        push @names, $1 if !$local && $line =~ /^\s*(\w+)\s*;/;
    }
    return @names;
}

# The roff escapes the SYNOPSIS lines use, read back as C.
sub unroff {
    my ($s) = @_;
    $s =~ s/\\\(dq/"/g;
    $s =~ s/\\&//g;
    $s =~ s/\\-/-/g;
    $s =~ s/\\e/\\/g;
    return $s;
}

# mdoc macro arguments: blank-separated words, "quoted phrases" with "" for a quote.
sub mdoc_args {
    my ($s) = @_;
    my @args;
    while ($s =~ /\G\s*(?:"((?:[^"]|"")*)"|(\S+))/gc) {
        push @args, defined $1 ? ($1 =~ s/""/"/gr) : $2;
    }
    return map { unroff($_) } @args;
}

# What a page documents: {names => {}, includes => [], protos => {name => {type, params}},
# defines => {name => {params|undef, value}}}.
sub read_page {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!\n";
    my (%page, $section, $type);
    $page{includes} = [];
    while (my $line = <$fh>) {
        chomp $line;
        if ($line =~ /^\.Sh\s+(.*)/) {
            $section = $1;
            next;
        }
        next unless defined $section;
        if ($section eq 'NAME' && $line =~ /^\.Nm\s+(\S+)/) {
            $page{names}{$1} = 1;
        }
        next unless $section eq 'SYNOPSIS';
        if ($line =~ /^\.In\s+(\S+)/) {
            push @{$page{includes}}, $1;
        } elsif ($line =~ /^\.Ft\s+(.*)/) {
            $type = norm(join ' ', mdoc_args($1));
        } elsif ($line =~ /^\.Fn\s+(.*)/) {
            my ($name, @params) = mdoc_args($1);
            if (!defined $type) {
                fail(basename($file), ": .Fn $name in SYNOPSIS without a .Ft before it");
                next;
            }
            $page{protos}{$name} = {type => $type, params => [map { norm($_) } @params]};
            undef $type;
        } elsif ($line =~ /^\.Fd\s+(.*)/) {
            my $fd = unroff($1);
            next unless $fd =~ /^#define\s+(\w+)(\(([^)]*)\))?\s*(.*?)\s*$/;
            $page{defines}{$1} = {params => defined $2 ? [split_params($3)] : undef, value => $4};
        }
    }
    return \%page;
}

sub same_list { join("\0", @{$_[0]}) eq join("\0", @{$_[1]}) }

sub names {
    my ($map, @include_dirs) = @_;
    my ($func, $macro) = read_headers(@include_dirs);
    fail("no LUST_API declarations found under @include_dirs") unless %$func;

    for my $sym (read_map($map)) {
        fail("$sym is exported (lib/liblust.map) but no public header declares it")
            unless $func->{$sym};
    }

    my $dir = "$root/man3";
    my %pages;
    for my $file (grep { -f $_ && !-l $_ } glob("$dir/*.3")) {
        $pages{basename($file)} = read_page($file);
    }

    # Each symbol and macro: the page reached by its name, and what that page says about it.
    for my $name (sort(keys %$func), sort(keys %$macro)) {
        my $is_func = exists $func->{$name};
        my $decl = $is_func ? $func->{$name} : $macro->{$name};
        my $entry = "$dir/$name.3";
        if (!-e $entry) {
            fail("man3/$name.3 is missing: `man $name` finds nothing",
                -l $entry ? ' (a dangling link)' : '');
            next;
        }
        my $target = -l $entry ? readlink($entry) : "$name.3";
        my $page = $pages{$target};
        if ($target =~ m{/} || !$page) {
            fail("man3/$name.3 links to $target, not to a page in man3");
            next;
        }
        if (!grep { $_ eq $decl->{header} } @{$page->{includes}}) {
            fail("$target: SYNOPSIS has no .In $decl->{header} for $name");
        }
        if ($is_func) {
            fail("$target: NAME does not list $name") unless $page->{names}{$name};
            my $p = $page->{protos}{$name};
            if (!$p) {
                fail("$target: SYNOPSIS has no prototype of $name");
            } elsif ($p->{type} ne $decl->{type} || !same_list($p->{params}, $decl->{params})) {
                fail("$target: SYNOPSIS has $p->{type} $name(", join(', ', @{$p->{params}}),
                    "); $decl->{header} declares $decl->{type} $name(",
                    join(', ', @{$decl->{params}}), ')');
            }
        } else {
            my $d = $page->{defines}{$name};
            if (!$d) {
                fail("$target: SYNOPSIS has no .Fd #define $name");
                next;
            }
            my ($hp, $pp) = ($decl->{params}, $d->{params});
            if (defined $hp != defined $pp || (defined $hp && !same_list($hp, $pp))) {
                fail("$target: #define $name has other parameters than in $decl->{header}");
            }
            (my $hv = $decl->{value}) =~ s/\s+//g;
            (my $pv = $d->{value}) =~ s/\s+//g;
            if (!defined $hp && $pv ne '' && $pv ne $hv) {
                fail("$target: #define $name $d->{value}; $decl->{header} says $decl->{value}");
            }
        }
    }

    # What the pages show must exist, and a link must lead to a page that documents its name.
    for my $target (sort keys %pages) {
        my $page = $pages{$target};
        for my $name (sort keys %{$page->{protos} || {}}) {
            fail("$target: SYNOPSIS shows $name(), which no public header declares")
                unless $func->{$name};
        }
        for my $name (sort keys %{$page->{defines} || {}}) {
            fail("$target: SYNOPSIS shows #define $name, which no public header defines")
                unless $macro->{$name};
        }
        for my $name (sort keys %{$page->{names} || {}}) {
            fail("$target: NAME lists $name, which is neither a function nor a macro")
                unless $func->{$name} || $macro->{$name};
        }
    }
    for my $link (grep { -l $_ } glob("$dir/*.3")) {
        my $name = basename($link, '.3');
        my $page = $pages{readlink($link)};
        next unless $page;    # reported above when it is an API name
        fail("man3/$name.3 links to ", readlink($link), ", which does not document $name")
            unless $page->{names}{$name} || $page->{protos}{$name} || $page->{defines}{$name};
    }

    printf "man pages OK: %d functions and %d macros, each on man3/NAME.3 with its prototype\n",
        scalar(keys %$func), scalar(keys %$macro) unless @failures;
}
