/*
 * The libslurm facade. See include/CSlurmShim.h for why it is shaped this way.
 *
 * Every libslurm function is looked up with dlsym when the library loads, so the binary has no link
 * dependency on libslurm: it starts on hosts without Slurm and reports why the library path is off.
 */
#define _GNU_SOURCE
#include "CSlurmShim.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<slurm/slurm.h>)
#include <slurm/slurm.h>
#include <slurm/slurmdb.h>
#include <slurm/slurm_errno.h>
#define HB_HAVE_SLURM_HEADERS 1
#endif
#endif

#ifndef HB_HAVE_SLURM_HEADERS
#define HB_HAVE_SLURM_HEADERS 0
#endif

static pthread_once_t hb_once = PTHREAD_ONCE_INIT;
static hb_slurm_status hb_cached;

void hb_slurm_version_string(long version, char *buffer, size_t size) {
    snprintf(buffer, size, "%ld.%02ld.%ld", (version >> 16) & 0xff, (version >> 8) & 0xff, version & 0xff);
}

void hb_slurm_free(void *pointer) { free(pointer); }

static void hb_copy(char *target, size_t size, const char *source) {
    snprintf(target, size, "%s", source ? source : "");
}

#if HB_HAVE_SLURM_HEADERS

/* The libslurm functions used, resolved once. */
static struct {
    void *handle;
    void (*init)(const char *);
    void (*init_job_desc_msg)(job_desc_msg_t *);
    int (*submit_batch_job)(job_desc_msg_t *, submit_response_msg_t **);
    void (*free_submit_response)(submit_response_msg_t *);
    int (*load_jobs)(time_t, job_info_msg_t **, uint16_t);
    void (*free_job_info_msg)(job_info_msg_t *);
    int (*kill_job2)(const char *, uint16_t, uint16_t, const char *);
    int (*get_errno)(void);
    char *(*strerror)(int);
    char *(*job_reason_string)(enum job_state_reason);
    void *(*db_connection_get)(uint16_t *);
    int (*db_connection_close)(void **);
    List (*db_jobs_get)(void *, slurmdb_job_cond_t *);
    List (*list_create)(ListDelF);
    void *(*list_append)(List, void *);
    ListIterator (*list_iterator_create)(List);
    void *(*list_next)(ListIterator);
    void (*list_iterator_destroy)(ListIterator);
    void (*list_destroy)(List);
    int (*load_ctl_conf)(time_t, slurm_conf_t **);
    void (*free_ctl_conf)(slurm_conf_t *);
} hb;

#define HB_RESOLVE(field, symbol)                                                                      \
    do {                                                                                               \
        *(void **)(&hb.field) = dlsym(hb.handle, symbol);                                              \
        if (hb.field == NULL) {                                                                        \
            snprintf(s->reason, sizeof(s->reason), "%s lacks %s; it does not match the Slurm headers", \
                     s->library, symbol);                                                              \
            return;                                                                                    \
        }                                                                                              \
    } while (0)

static void hb_probe_once(void) {
    hb_slurm_status *s = &hb_cached;
    memset(s, 0, sizeof(*s));
    s->built_with_headers = 1;
    s->header_api_version = SLURM_VERSION_NUMBER;
    /* slurm_api_version() reports the library's API generation (its soname: 38 for 22.05), not the
     * release, so the headers' release is mapped to the API generation it ships with. */
    static const struct { long release; long api; } generations[] = {
        {0x1505, 37}, {0x1605, 38}, {0x1702, 39}, {0x170b, 40}, {0x1805, 41}, {0x180b, 42}, {0x1905, 43}, {0, 0}};
    long expected_api = 0;
    for (int i = 0; generations[i].release != 0; i++) {
        if (generations[i].release == (SLURM_VERSION_NUMBER >> 8)) expected_api = generations[i].api;
    }
    char versioned[64];
    snprintf(versioned, sizeof(versioned), "libslurm.so.%ld", expected_api);
    /* The soname of the headers' generation first; the unversioned name (from libslurm-dev) after. */
    const char *candidates[] = {expected_api ? versioned : "libslurm.so", "libslurm.so", NULL};
    for (int i = 0; candidates[i] != NULL && hb.handle == NULL; i++) {
        hb_copy(s->library, sizeof(s->library), candidates[i]);
        hb.handle = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
    }
    if (hb.handle == NULL) {
        snprintf(s->reason, sizeof(s->reason),
                 "libslurm could not be loaded (%s); install libslurm (Debian: libslurm38 or libslurm-dev) or use mode: cli", dlerror());
        return;
    }
    long (*api_version)(void) = (long (*)(void))dlsym(hb.handle, "slurm_api_version");
    if (api_version == NULL) {
        snprintf(s->reason, sizeof(s->reason), "%s has no slurm_api_version symbol; it is not a libslurm", s->library);
        return;
    }
    s->library_api_version = api_version();
    long library_api = (s->library_api_version >> 16) & 0xffff;
    if (expected_api != 0 && library_api != expected_api) {
        char hdr[32];
        hb_slurm_version_string(s->header_api_version, hdr, sizeof(hdr));
        snprintf(s->reason, sizeof(s->reason),
                 "%s has API generation %ld but hpcbridge was built with Slurm %s headers (API %ld); rebuild hpcbridge on this cluster or use mode: cli",
                 s->library, library_api, hdr, expected_api);
        return;
    }
    HB_RESOLVE(init, "slurm_init");
    HB_RESOLVE(init_job_desc_msg, "slurm_init_job_desc_msg");
    HB_RESOLVE(submit_batch_job, "slurm_submit_batch_job");
    HB_RESOLVE(free_submit_response, "slurm_free_submit_response_response_msg");
    HB_RESOLVE(load_jobs, "slurm_load_jobs");
    HB_RESOLVE(free_job_info_msg, "slurm_free_job_info_msg");
    HB_RESOLVE(kill_job2, "slurm_kill_job2");
    HB_RESOLVE(get_errno, "slurm_get_errno");
    HB_RESOLVE(strerror, "slurm_strerror");
    HB_RESOLVE(job_reason_string, "slurm_job_reason_string");
    HB_RESOLVE(db_connection_get, "slurmdb_connection_get");
    HB_RESOLVE(db_connection_close, "slurmdb_connection_close");
    HB_RESOLVE(db_jobs_get, "slurmdb_jobs_get");
    HB_RESOLVE(list_create, "slurm_list_create");
    HB_RESOLVE(list_append, "slurm_list_append");
    HB_RESOLVE(list_iterator_create, "slurm_list_iterator_create");
    HB_RESOLVE(list_next, "slurm_list_next");
    HB_RESOLVE(list_iterator_destroy, "slurm_list_iterator_destroy");
    HB_RESOLVE(list_destroy, "slurm_list_destroy");
    HB_RESOLVE(load_ctl_conf, "slurm_load_ctl_conf");
    HB_RESOLVE(free_ctl_conf, "slurm_free_ctl_conf");
    /* libslurm cuts an array's pending task list (array_task_str) at 64 bytes with "..." unless this is
     * set; it reads it once per process, when it first formats one (squeue and scancel set it too).
     * Set here, once, before the first call; 0 means "in full". */
    setenv("SLURM_BITSTR_LEN", "0", 1);
    hb.init(NULL);
    s->usable = 1;
}

static int hb_ready(int *errno_out, char *message, size_t size) {
    pthread_once(&hb_once, hb_probe_once);
    if (!hb_cached.usable) {
        if (errno_out) *errno_out = 0;
        hb_copy(message, size, hb_cached.reason);
        return 0;
    }
    return 1;
}

static int hb_fail(int *errno_out, char *message, size_t size, const char *what) {
    int number = hb.get_errno();
    if (errno_out) *errno_out = number;
    snprintf(message, size, "%s: %s", what, hb.strerror(number));
    return HB_ERROR;
}

int hb_slurm_submit(const hb_submit_request *r, uint32_t *job_id, int *errno_out, char *message, size_t size) {
    if (!hb_ready(errno_out, message, size)) return HB_UNAVAILABLE;
    job_desc_msg_t desc;
    hb.init_job_desc_msg(&desc);
    desc.script = (char *)r->script;
    desc.name = (char *)r->name;
    desc.account = (char *)r->account;
    desc.partition = (char *)r->partition;
    desc.qos = (char *)r->qos;
    desc.work_dir = (char *)r->work_dir;
    desc.std_out = (char *)r->std_out;
    desc.std_err = (char *)r->std_err;
    desc.comment = (char *)r->comment;
    desc.min_nodes = 1;
    desc.max_nodes = 1;
    desc.num_tasks = 1;
    desc.cpus_per_task = (uint16_t)r->cpus;
    desc.min_cpus = r->cpus;
    desc.pn_min_memory = r->memory_mb;
    desc.time_limit = r->time_minutes;
    desc.user_id = getuid();
    desc.group_id = getgid();
    desc.environment = (char **)r->environment;
    desc.env_size = r->environment_count;
    char gres[64];
    if (r->gpus > 0) {
        snprintf(gres, sizeof(gres), "gres:gpu:%u", r->gpus);
        desc.tres_per_job = gres;
    }
    if (r->hold) desc.priority = 0;
    desc.array_inx = (char *)r->array_inx;
    desc.dependency = (char *)r->dependency;
    if (r->kill_invalid_dep) desc.bitflags |= KILL_INV_DEP;
    submit_response_msg_t *response = NULL;
    if (hb.submit_batch_job(&desc, &response) != SLURM_SUCCESS) return hb_fail(errno_out, message, size, "slurm_submit_batch_job");
    *job_id = response->job_id;
    hb.free_submit_response(response);
    return HB_OK;
}

/* Records come in one block: the records, then a pool with their strings (array_task_str, which can be
 * kilobytes for a sparse array, and dependency), so one hb_slurm_free releases everything and no string is cut short. */
static size_t hb_pool_need(const char *text) { return text && text[0] ? strlen(text) + 1 : 0; }

static hb_job_record *hb_records_alloc(size_t count, size_t pool_size, char **pool) {
    hb_job_record *records = calloc(1, count * sizeof(hb_job_record) + pool_size);
    if (records) *pool = (char *)(records + count);
    return records;
}

static const char *hb_pool_copy(char **pool, const char *text) {
    size_t size = hb_pool_need(text);
    if (size == 0) return NULL;
    char *copy = memcpy(*pool, text, size);
    *pool += size;
    return copy;
}

static void hb_fill(hb_job_record *out, const slurm_job_info_t *job, char **pool) {
    memset(out, 0, sizeof(*out));
    out->job_id = job->job_id;
    out->array_job_id = job->array_job_id;
    out->array_task_id = job->array_task_id;
    out->array_max_tasks = job->array_max_tasks;
    out->array_task_str = hb_pool_copy(pool, job->array_task_str);
    out->dependency = hb_pool_copy(pool, job->dependency);
    out->job_state = job->job_state;
    out->exit_code = job->exit_code;
    out->restart_count = job->restart_cnt;
    out->submit_time = job->submit_time;
    out->start_time = job->start_time;
    out->end_time = job->end_time;
    hb_copy(out->name, sizeof(out->name), job->name);
    hb_copy(out->comment, sizeof(out->comment), job->comment);
    hb_copy(out->reason, sizeof(out->reason), hb.job_reason_string((enum job_state_reason)job->state_reason));
}

int hb_slurm_load_jobs(int64_t update_time, hb_job_record **records, size_t *count, int64_t *last_update,
                       int *errno_out, char *message, size_t size) {
    *records = NULL;
    *count = 0;
    if (!hb_ready(errno_out, message, size)) return HB_UNAVAILABLE;
    job_info_msg_t *msg = NULL;
    if (hb.load_jobs((time_t)update_time, &msg, SHOW_ALL) != SLURM_SUCCESS) {
        if (hb.get_errno() == SLURM_NO_CHANGE_IN_DATA) return HB_NO_CHANGE;
        return hb_fail(errno_out, message, size, "slurm_load_jobs");
    }
    *last_update = msg->last_update;
    if (msg->record_count > 0) {
        size_t pool_size = 0;
        for (uint32_t i = 0; i < msg->record_count; i++)
            pool_size += hb_pool_need(msg->job_array[i].array_task_str) + hb_pool_need(msg->job_array[i].dependency);
        char *pool = NULL;
        *records = hb_records_alloc(msg->record_count, pool_size, &pool);
        if (*records == NULL) {
            hb.free_job_info_msg(msg);
            hb_copy(message, size, "out of memory");
            return HB_ERROR;
        }
        for (uint32_t i = 0; i < msg->record_count; i++) hb_fill(&(*records)[i], &msg->job_array[i], &pool);
    }
    *count = msg->record_count;
    hb.free_job_info_msg(msg);
    return HB_OK;
}

int hb_slurm_cancel(const char *job_id, int *errno_out, char *message, size_t size) {
    if (!hb_ready(errno_out, message, size)) return HB_UNAVAILABLE;
    if (hb.kill_job2(job_id, SIGKILL, 0, NULL) != SLURM_SUCCESS) {
        int number = hb.get_errno();
        if (number == ESLURM_ALREADY_DONE || number == ESLURM_INVALID_JOB_ID) return HB_OK;
        return hb_fail(errno_out, message, size, "slurm_kill_job2");
    }
    return HB_OK;
}

int hb_slurm_controller_config(uint32_t *max_array_size, char *version, size_t version_size, int *errno_out, char *message, size_t size) {
    if (!hb_ready(errno_out, message, size)) return HB_UNAVAILABLE;
    slurm_conf_t *conf = NULL;
    if (hb.load_ctl_conf(0, &conf) != SLURM_SUCCESS || conf == NULL) return hb_fail(errno_out, message, size, "slurm_load_ctl_conf");
    *max_array_size = conf->max_array_sz;
    snprintf(version, version_size, "%s", conf->version ? conf->version : "");
    hb.free_ctl_conf(conf);
    return HB_OK;
}

int hb_slurmdb_jobs(const uint32_t *job_ids, size_t id_count, int64_t since, const char *cluster,
                    hb_job_record **records, size_t *count, char *message, size_t size) {
    *records = NULL;
    *count = 0;
    if (!hb_ready(NULL, message, size)) return HB_UNAVAILABLE;
    void *connection = hb.db_connection_get(NULL);
    if (connection == NULL) {
        snprintf(message, size, "cannot connect to slurmdbd: %s", hb.strerror(hb.get_errno()));
        return HB_UNAVAILABLE;
    }
    slurmdb_job_cond_t condition;
    memset(&condition, 0, sizeof(condition));
    condition.flags = JOBCOND_FLAG_NO_STEP | JOBCOND_FLAG_NO_TRUNC;
    /* As sacct does: without NOTSET, slurmdbd matches only jobs whose scheduling flags are all 0. */
    condition.db_flags = SLURMDB_JOB_FLAG_NOTSET;
    condition.usage_start = (time_t)since;
    condition.usage_end = time(NULL) + 60;
    /* Items are ours (calloc), so the list frees them with free(), not libslurm's xfree(). No ids: every
     * job in the time window. */
    condition.step_list = id_count > 0 ? hb.list_create(free) : NULL;
    for (size_t i = 0; i < id_count; i++) {
        slurm_selected_step_t *step = calloc(1, sizeof(*step));
        step->array_task_id = NO_VAL;
        step->het_job_offset = NO_VAL;
        step->step_id.job_id = job_ids[i];
        step->step_id.step_id = NO_VAL;
        step->step_id.step_het_comp = NO_VAL;
        hb.list_append(condition.step_list, step);
    }
    /* slurmdbd answers only for the clusters asked about: default to the controller's own name. */
    List clusters = NULL;
    char *cluster_name = cluster ? strdup(cluster) : NULL;
    if (cluster_name == NULL) {
        slurm_conf_t *conf = NULL;
        if (hb.load_ctl_conf(0, &conf) == SLURM_SUCCESS && conf != NULL) {
            if (conf->cluster_name) cluster_name = strdup(conf->cluster_name);
            hb.free_ctl_conf(conf);
        }
    }
    if (cluster_name != NULL) {
        clusters = hb.list_create(free);
        hb.list_append(clusters, cluster_name);
        condition.cluster_list = clusters;
    }
    List jobs = hb.db_jobs_get(connection, &condition);
    int result = HB_OK;
    if (jobs == NULL) {
        snprintf(message, size, "slurmdb_jobs_get: %s", hb.strerror(hb.get_errno()));
        result = HB_UNAVAILABLE;
    } else {
        /* Two passes: the first sizes the block (records and their strings), the second fills it. */
        size_t n = 0, pool_size = 0;
        ListIterator it = hb.list_iterator_create(jobs);
        slurmdb_job_rec_t *job;
        while ((job = hb.list_next(it)) != NULL) {
            n++;
            pool_size += hb_pool_need(job->array_task_str);
        }
        hb.list_iterator_destroy(it);
        char *pool = NULL;
        hb_job_record *out = hb_records_alloc(n > 0 ? n : 1, pool_size, &pool);
        if (out == NULL) {
            hb_copy(message, size, "out of memory");
            result = HB_ERROR;
            n = 0;
        }
        it = hb.list_iterator_create(jobs);
        for (size_t i = 0; out != NULL && i < n && (job = hb.list_next(it)) != NULL; i++) {
            hb_job_record *r = &out[i];
            r->job_id = job->jobid;
            r->array_job_id = job->array_job_id;
            r->array_task_id = job->array_task_id;
            r->array_max_tasks = job->array_max_tasks;
            r->array_task_str = hb_pool_copy(&pool, job->array_task_str);
            r->job_state = job->state;
            r->exit_code = job->exitcode;
            r->submit_time = job->submit;
            r->start_time = job->start;
            r->end_time = job->end;
            hb_copy(r->name, sizeof(r->name), job->jobname);
            hb_copy(r->comment, sizeof(r->comment), job->derived_es);
            hb_copy(r->reason, sizeof(r->reason), hb.job_reason_string((enum job_state_reason)job->state_reason_prev));
        }
        hb.list_iterator_destroy(it);
        hb.list_destroy(jobs);
        *records = out;
        *count = n;
    }
    if (condition.step_list) hb.list_destroy(condition.step_list);
    if (clusters) hb.list_destroy(clusters);
    hb.db_connection_close(&connection);
    return result;
}

#else /* no Slurm headers: every call reports why */

static void hb_probe_once(void) {
    hb_slurm_status *s = &hb_cached;
    memset(s, 0, sizeof(*s));
    hb_copy(s->library, sizeof(s->library), "libslurm.so");
    hb_copy(s->reason, sizeof(s->reason),
            "hpcbridge was built without Slurm headers (slurm/slurm.h); install libslurm-dev and rebuild to use the library path");
}

static int hb_unavailable(int *errno_out, char *message, size_t size) {
    pthread_once(&hb_once, hb_probe_once);
    if (errno_out) *errno_out = 0;
    hb_copy(message, size, hb_cached.reason);
    return HB_UNAVAILABLE;
}

int hb_slurm_submit(const hb_submit_request *r, uint32_t *job_id, int *errno_out, char *message, size_t size) {
    (void)r;
    (void)job_id;
    return hb_unavailable(errno_out, message, size);
}

int hb_slurm_load_jobs(int64_t update_time, hb_job_record **records, size_t *count, int64_t *last_update,
                       int *errno_out, char *message, size_t size) {
    (void)update_time;
    (void)last_update;
    *records = NULL;
    *count = 0;
    return hb_unavailable(errno_out, message, size);
}

int hb_slurm_cancel(const char *job_id, int *errno_out, char *message, size_t size) {
    (void)job_id;
    return hb_unavailable(errno_out, message, size);
}

int hb_slurm_controller_config(uint32_t *max_array_size, char *version, size_t version_size, int *errno_out, char *message, size_t size) {
    (void)max_array_size;
    (void)version;
    (void)version_size;
    return hb_unavailable(errno_out, message, size);
}

int hb_slurmdb_jobs(const uint32_t *job_ids, size_t id_count, int64_t since, const char *cluster,
                    hb_job_record **records, size_t *count, char *message, size_t size) {
    (void)job_ids;
    (void)id_count;
    (void)since;
    (void)cluster;
    *records = NULL;
    *count = 0;
    return hb_unavailable(NULL, message, size);
}

#endif

void hb_slurm_probe(hb_slurm_status *status) {
    pthread_once(&hb_once, hb_probe_once);
    *status = hb_cached;
}
