#include <stdio.h>

int
main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("lester %s\n", LESTER_VERSION);
    return 0;
}
