#include <stdio.h>
int main(void) { puts("grantd"); return 0; }
