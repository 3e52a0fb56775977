#include "CSlurmShim.h"
int hb_placeholder(void){return 0;}
