#include <cblas.h>
#include <lapacke.h>
// OpenBLAS's thread count, to keep small GEMMs single-threaded when that is faster.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// What a run record names: the build and the kernel core OpenBLAS chose.
char *openblas_get_config(void);
char *openblas_get_corename(void);
