# lust_target_warnings(TARGET): the house warning set, applied per target so it never leaks into
# code we do not own. LUST_WERROR (on in the presets CI uses) turns them into errors.
function(lust_target_warnings target)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
        -Wpointer-arith -Wcast-align -Wundef -Wvla)
    if(LUST_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
