/*
 * lib/config_scan.c - the config text read before libconfuse sees it. Its line numbers run
 * ahead after each comment, and it accepts a file that ends inside a comment, a string or an
 * open section (an open string ending in a backslash even makes its scanner echo to stdout):
 * the comments are blanked here, newlines kept, and such endings found and cut.
 */
#include "config_internal.h"

#include <stdbool.h>
#include <string.h>

static bool unquoted(char c)
{
    /* The characters libconfuse's scanner lets into an unquoted string. */
    switch (c) {
    case '\0':
    case ' ':
    case '#':
    case '"':
    case '\'':
    case '\t':
    case '\n':
    case '\r':
    case '=':
    case '{':
    case '}':
    case '(':
    case ')':
    case '+':
    case ',':
    case '*':
        return false;
    default:
        return true;
    }
}

static void blank(char *s, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (s[i] != '\n')
            s[i] = ' ';
}

int lust__config_count_lines(const char *s, size_t from, size_t to)
{
    int n = 0;
    for (size_t i = from; i < to; i++)
        n += s[i] == '\n';
    return n;
}

/* Offset after the closing brace of "${VAR}" at s[i], or 0 when it is not one. */
static size_t env_end(const char *s, size_t len, size_t i)
{
    if (i + 1 >= len || s[i] != '$' || s[i + 1] != '{')
        return 0;
    const char *end = memchr(s + i + 2, '}', len - i - 2);
    return end ? (size_t)(end - s) + 1 : 0;
}

/* Offset after the string opened by the quote at s[i], or 0 if it is never closed. */
static size_t string_end(const char *s, size_t len, size_t i, int *line)
{
    char quote = s[i++];
    while (i < len) {
        size_t env = quote == '"' ? env_end(s, len, i) : 0;
        if (s[i] == quote)
            return i + 1;
        if (s[i] == '\\' && i + 1 < len) {
            *line += s[i + 1] == '\n';
            i += 2;
        } else if (env) {
            *line += lust__config_count_lines(s, i, env);
            i = env;
        } else {
            *line += s[i] == '\n';
            i++;
        }
    }
    return 0;
}

/*
 * Walk the text as libconfuse's scanner does: blank the comments, keeping their newlines, so
 * its line count stays true; report a comment or string that is never closed (the text is cut
 * there) and a '{' never closed. The rules follow its lexer.l: '#' starts a comment anywhere
 * outside a string, "//" and "/ *" only where a token starts (inside an unquoted word a
 * slash is a letter, a '*' ends the word).
 */
struct lust__config_scan lust__config_prescan(char *s, size_t len)
{
    struct lust__config_scan r = {len, 0, NULL};
    int line = 1, depth = 0, open_line = 0;
    size_t i = 0;

    while (i < len) {
        char c = s[i], next = i + 1 < len ? s[i + 1] : '\0';
        size_t end;
        if (c == '\n') {
            line++;
            i++;
        } else if (c == '#' || (c == '/' && next == '/')) {
            for (end = i; end < len && s[end] != '\n'; end++)
                ;
            blank(s, i, end);
            i = end;
        } else if (c == '/' && next == '*') {
            const char *close = memmem(s + i + 2, len - i - 2, "*/", 2);
            if (!close)
                return (struct lust__config_scan){i, line, "comment is not closed (no */)"};
            end = (size_t)(close - s) + 2;
            line += lust__config_count_lines(s, i, end);
            blank(s, i, end);
            i = end;
        } else if (c == '"' || c == '\'') {
            int start = line;
            end = string_end(s, len, i, &line);
            if (!end)
                return (struct lust__config_scan){i, start,
                                                  "string is not closed (no closing quote)"};
            i = end;
        } else if ((end = env_end(s, len, i)) != 0) {
            line += lust__config_count_lines(s, i, end);
            i = end;
        } else if (c == '{') {
            if (depth++ == 0)
                open_line = line;
            i++;
        } else if (c == '}') {
            depth -= depth > 0;
            i++;
        } else if (unquoted(c)) {
            while (i < len && unquoted(s[i]))
                i++;
        } else {
            i++;
        }
    }
    if (depth > 0) {
        r.line = open_line;
        r.what = "'{' is never closed (no matching })";
    }
    return r;
}
