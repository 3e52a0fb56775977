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
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Why the library path is or is not usable. */
typedef struct hb_slurm_status {
    int usable;                 /* 1 when libslurm loaded and matches the headers */
    int built_with_headers;     /* 1 when the shim was compiled against slurm/slurm.h */
    long header_api_version;    /* SLURM_VERSION_NUMBER of the headers, 0 without */
    long library_api_version;   /* slurm_api_version() of the loaded library (API generation, e.g. 38.0.0), 0 when not loaded */
    char library[128];          /* the soname that was loaded, or tried */
    char reason[512];           /* when not usable: why, in words an admin can act on */
} hb_slurm_status;

/* Loads libslurm once (thread-safe) and reports whether the library path can be used. */
void hb_slurm_probe(hb_slurm_status *status);

/* What hpcbridge needs of one job, from the controller or from accounting. */
typedef struct hb_job_record {
    uint32_t job_id;
    uint32_t array_job_id;      /* 0 when not part of an array; the array's (master) id otherwise */
    uint32_t array_task_id;     /* NO_VAL (0xfffffffe) when not one task (a plain job, or the record of pending tasks) */
    uint32_t array_max_tasks;   /* the array's throttle (%N), 0 when none */
    /* The record of an array's pending tasks: their indices ("10-999%4", "0,6,16-32"), in full (the shim
     * sets SLURM_BITSTR_LEN=0 before slurm_init, or libslurm cuts them at 64 bytes); NULL otherwise. From
     * accounting it is slurmdbd's own text, which may be a hex bitmap ("0x1F"). It points into the block
     * the records came in (after the records), so hb_slurm_free of the records frees it too. */
    const char *array_task_str;
    /* The controller's dependency text with each parent's state ("afterok:12(failed)"), in the same block;
     * NULL when the job has none, and always from accounting, which does not keep it. */
    const char *dependency;
    uint32_t job_state;         /* base state | flag bits, as in slurm.h */
    uint32_t exit_code;         /* raw wait status */
    uint32_t restart_count;
    int64_t submit_time, start_time, end_time;
    char name[128];
    char comment[128];
    char reason[64];
} hb_job_record;

/* A batch job to submit; NULL strings are left unset. */
typedef struct hb_submit_request {
    const char *script;
    const char *name;
    const char *account;
    const char *partition;
    const char *qos;
    const char *work_dir;
    const char *std_out;
    const char *std_err;
    const char *comment;
    uint32_t cpus;
    uint64_t memory_mb;
    uint32_t time_minutes;
    uint32_t gpus;
    int hold;
    const char *const *environment;   /* "KEY=VALUE" strings */
    uint32_t environment_count;
    const char *array_inx;            /* job array indices ("0-15%4", "0,6,16-32"); NULL: not an array */
    const char *dependency;           /* "afterok:123:456"; NULL: none */
    int kill_invalid_dep;             /* 1: KILL_INV_DEP, cancel the job when its dependency can never be satisfied */
} hb_submit_request;

/* Result codes of the calls below. */
enum { HB_OK = 0, HB_NO_CHANGE = 1, HB_ERROR = -1, HB_UNAVAILABLE = -2 };

/* Submits a batch job. On error, message holds libslurm's words and errno_out its error number. */
int hb_slurm_submit(const hb_submit_request *request, uint32_t *job_id, int *errno_out, char *message, size_t message_size);

/* Loads every job changed since update_time (0: all). HB_NO_CHANGE when nothing changed; otherwise
 * *records (one block with their strings: free it with hb_slurm_free) and *count, and *last_update for
 * the next call. */
int hb_slurm_load_jobs(int64_t update_time, hb_job_record **records, size_t *count, int64_t *last_update,
                       int *errno_out, char *message, size_t message_size);

/* Signals/cancels a job ("123" or "123_4"); a job that already ended is not an error. */
int hb_slurm_cancel(const char *job_id, int *errno_out, char *message, size_t message_size);

/* The controller's MaxArraySize (an array's highest index is one less) and its Slurm version ("" when it
 * sends none), from slurm_load_ctl_conf. */
int hb_slurm_controller_config(uint32_t *max_array_size, char *version, size_t version_size, int *errno_out, char *message,
                               size_t message_size);

/* Final records from accounting (slurmdbd) for job ids (none: every job) active since `since`; an array's
 * id gives all its tasks. *records is one block with their strings, as from hb_slurm_load_jobs. */
int hb_slurmdb_jobs(const uint32_t *job_ids, size_t id_count, int64_t since, const char *cluster,
                    hb_job_record **records, size_t *count, char *message, size_t message_size);

/* Frees memory the calls above returned. */
void hb_slurm_free(void *pointer);

/* Formats an API version number (e.g. 0x160508) as "22.05.8" into buffer. */
void hb_slurm_version_string(long version, char *buffer, size_t size);

#ifdef __cplusplus
}
#endif

#endif
