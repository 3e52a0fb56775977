/*
 * CSlurmShim: the only code in hpcbridge that touches libslurm.
 *
 * libslurm's C API and ABI change with every major Slurm release, so the library is loaded with
 * dlopen at run time and reached only through this small facade of plain C types. The shim compiles
 * against whatever <slurm/slurm.h> is installed (recording its API version), and to a stub that
 * reports "not built with Slurm headers" when none is, so hpcbridge builds and runs without Slurm.
 */
#ifndef HPCBRIDGE_CSLURMSHIM_H
#define HPCBRIDGE_CSLURMSHIM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why the library path is or is not usable. */
typedef struct hb_slurm_status {
    int usable;                 /* 1 when libslurm loaded and matches the headers */
    int built_with_headers;     /* 1 when the shim was compiled against slurm/slurm.h */
    long header_api_version;    /* SLURM_VERSION_NUMBER of the headers, 0 without */
    long library_api_version;   /* slurm_api_version() of the loaded library, 0 when not loaded */
    char library[128];          /* the soname that was loaded, or tried */
    char reason[512];           /* when not usable: why, in words an admin can act on */
} hb_slurm_status;

/* Loads libslurm once (thread-safe) and reports whether the library path can be used. */
void hb_slurm_probe(hb_slurm_status *status);

/* Formats an API version number (e.g. 0x160508) as "22.05.8" into buffer. */
void hb_slurm_version_string(long version, char *buffer, size_t size);

#ifdef __cplusplus
}
#endif

#endif
