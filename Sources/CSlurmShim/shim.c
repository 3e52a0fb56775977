/*
 * The libslurm facade. See include/CSlurmShim.h for why it is shaped this way.
 */
#define _GNU_SOURCE
#include "CSlurmShim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<slurm/slurm.h>)
#include <slurm/slurm.h>
#define HB_HAVE_SLURM_HEADERS 1
#endif
#endif

#ifndef HB_HAVE_SLURM_HEADERS
#define HB_HAVE_SLURM_HEADERS 0
#endif

static pthread_once_t hb_once = PTHREAD_ONCE_INIT;
static hb_slurm_status hb_cached;
#if HB_HAVE_SLURM_HEADERS
static void *hb_handle = NULL;
#endif

void hb_slurm_version_string(long version, char *buffer, size_t size) {
    snprintf(buffer, size, "%ld.%02ld.%ld", (version >> 16) & 0xff, (version >> 8) & 0xff, version & 0xff);
}

static void hb_probe_once(void) {
    hb_slurm_status *s = &hb_cached;
    memset(s, 0, sizeof(*s));
#if HB_HAVE_SLURM_HEADERS
    s->built_with_headers = 1;
    s->header_api_version = SLURM_VERSION_NUMBER;
    /* The soname follows the API generation: 22.05 ships libslurm.so.38. Try the unversioned name
     * (from libslurm-dev) first, then the runtime sonames of supported releases. */
    const char *candidates[] = {"libslurm.so", "libslurm.so.38", NULL};
    for (int i = 0; candidates[i] != NULL && hb_handle == NULL; i++) {
        snprintf(s->library, sizeof(s->library), "%s", candidates[i]);
        hb_handle = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
    }
    if (hb_handle == NULL) {
        snprintf(s->reason, sizeof(s->reason), "libslurm could not be loaded (%s); install libslurm (Debian: libslurm38 or libslurm-dev) or use mode: cli", dlerror());
        return;
    }
    long (*api_version)(void) = (long (*)(void))dlsym(hb_handle, "slurm_api_version");
    if (api_version == NULL) {
        snprintf(s->reason, sizeof(s->reason), "%s has no slurm_api_version symbol; it is not a libslurm", s->library);
        return;
    }
    s->library_api_version = api_version();
    /* The ABI is fixed per major.minor release (SLURM_VERSION_MAJOR/MINOR); micro releases share it. */
    if ((s->library_api_version >> 8) != (s->header_api_version >> 8)) {
        char lib[32], hdr[32];
        hb_slurm_version_string(s->library_api_version, lib, sizeof(lib));
        hb_slurm_version_string(s->header_api_version, hdr, sizeof(hdr));
        snprintf(s->reason, sizeof(s->reason), "libslurm %s does not match the headers hpcbridge was built with (%s); rebuild hpcbridge on this cluster or use mode: cli", lib, hdr);
        return;
    }
    s->usable = 1;
#else
    snprintf(s->library, sizeof(s->library), "libslurm.so");
    snprintf(s->reason, sizeof(s->reason), "hpcbridge was built without Slurm headers (slurm/slurm.h); install libslurm-dev and rebuild to use the library path");
#endif
}

void hb_slurm_probe(hb_slurm_status *status) {
    pthread_once(&hb_once, hb_probe_once);
    *status = hb_cached;
}
