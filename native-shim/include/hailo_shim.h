/*
 * hailo_shim.h - flat C surface over HailoRT 5.x (Hailo-10H) for P/Invoke.
 *
 * Conventions (read once, they apply to every function):
 *  - Every function that can fail returns an int32_t status: 0 = success, a HailoRT
 *    hailo_status value (passed through unchanged from the real runtime), or a
 *    shim-local code >= 1000 (see HS_STATUS_*). hs_status_name() names any of them.
 *  - On failure a human-readable message is stored per thread; read it with
 *    hs_last_error() on the same thread right after the failing call.
 *  - Handles are opaque. Closing/freeing a handle twice, passing NULL, or passing a
 *    handle of the wrong kind returns HS_STATUS_INVALID_ARGUMENT; it never crashes.
 *  - Strings in are UTF-8 and NUL-terminated. Strings out are written to caller
 *    buffers (buf, cap, *len): *len receives the full length without the NUL; if
 *    cap <= *len the call returns HS_STATUS_BUFFER_TOO_SMALL (call with buf=NULL,
 *    cap=0 to query the length).
 *  - Parameter structs are flat PODs (fixed char arrays, 32-bit ints, floats, uint64).
 *    Always start from the matching *_default_params() function.
 *  - Timeouts are in milliseconds; HS_TIMEOUT_DEFAULT (0) means "shim default"
 *    (10 s), HS_TIMEOUT_INFINITE waits forever.
 */
#ifndef HAILO_SHIM_H
#define HAILO_SHIM_H

#include <stddef.h>
#include <stdint.h>

#if defined(HS_BUILDING_SHIM)
#define HS_API __attribute__((visibility("default")))
#else
#define HS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change of a function signature or struct layout. */
#define HS_ABI_VERSION 1

/* ---------------------------------------------------------------- status codes */
enum {
    HS_STATUS_SUCCESS = 0,
    HS_STATUS_INVALID_ARGUMENT = 2,
    HS_STATUS_OUT_OF_HOST_MEMORY = 3,
    HS_STATUS_TIMEOUT = 4,
    HS_STATUS_INVALID_OPERATION = 6,
    HS_STATUS_NOT_IMPLEMENTED = 7,
    HS_STATUS_INTERNAL_FAILURE = 8,
    HS_STATUS_OPEN_FILE_FAILURE = 13,
    HS_STATUS_INVALID_HEF = 26,
    HS_STATUS_NOT_FOUND = 61,
    HS_STATUS_COMMUNICATION_CLOSED = 62,  /* device lost / RPC session closed */
    HS_STATUS_OUT_OF_FW_MEMORY = 71,      /* device-side memory exhausted */
    HS_STATUS_DEVICE_IN_USE = 73,
    HS_STATUS_OUT_OF_PHYSICAL_DEVICES = 74, /* no device, or held by a "UNIQUE" VDevice */
    HS_STATUS_NOT_SUPPORTED = 79,
    HS_STATUS_HEF_NOT_COMPATIBLE_WITH_DEVICE = 93,
    HS_STATUS_OPERATION_ABORTED = 95,
    HS_STATUS_DEVICE_NOT_CONNECTED = 96,
    /* shim-local codes; HailoRT statuses are < 1000 */
    HS_STATUS_NO_BACKEND = 1000,        /* requested backend not compiled into this build */
    HS_STATUS_BUFFER_TOO_SMALL = 1001,  /* caller buffer too small; *len or *count tells the size needed */
    HS_STATUS_VERSION_MISMATCH = 1002,  /* runtime libhailort differs from the build-time one */
    HS_STATUS_EXCEPTION = 1003          /* a C++ exception was caught at the C boundary */
};

/* Generation status reported by hs_completion_read (HailoRT LLMGeneratorCompletion::Status). */
enum {
    HS_GEN_GENERATING = 0,
    HS_GEN_MAX_TOKENS_REACHED = 1,
    HS_GEN_LOGICAL_END = 2,
    HS_GEN_ABORTED = 3
};

/* hailo_format_type_t values. */
enum {
    HS_FORMAT_TYPE_AUTO = 0,   /* native (quantized) type of the HEF */
    HS_FORMAT_TYPE_UINT8 = 1,
    HS_FORMAT_TYPE_UINT16 = 2,
    HS_FORMAT_TYPE_FLOAT32 = 3
};

/* hailo_format_order_t values (the ones the services meet; others pass through). */
enum {
    HS_FORMAT_ORDER_AUTO = 0,
    HS_FORMAT_ORDER_NHWC = 1,
    HS_FORMAT_ORDER_NHCW = 2,
    HS_FORMAT_ORDER_FCR = 3,
    HS_FORMAT_ORDER_F8CR = 4,
    HS_FORMAT_ORDER_NHW = 5,
    HS_FORMAT_ORDER_NC = 6,
    HS_FORMAT_ORDER_HAILO_NMS = 9,
    HS_FORMAT_ORDER_RGB888 = 10,
    HS_FORMAT_ORDER_NCHW = 11,
    HS_FORMAT_ORDER_YUY2 = 12,
    HS_FORMAT_ORDER_NV12 = 13,
    HS_FORMAT_ORDER_NV21 = 14,
    HS_FORMAT_ORDER_RGB4 = 17,
    HS_FORMAT_ORDER_I420 = 18,
    HS_FORMAT_ORDER_HAILO_NMS_WITH_BYTE_MASK = 20,
    HS_FORMAT_ORDER_HAILO_NMS_ON_CHIP = 21,
    HS_FORMAT_ORDER_HAILO_NMS_BY_CLASS = 22,
    HS_FORMAT_ORDER_HAILO_NMS_BY_SCORE = 23
};

/* Speech2Text task. */
enum {
    HS_S2T_TASK_TRANSCRIBE = 0,
    HS_S2T_TASK_TRANSLATE = 1
};

#define HS_TIMEOUT_DEFAULT 0u
#define HS_TIMEOUT_INFINITE 0xFFFFFFFFu
#define HS_SCHEDULER_PRIORITY_NORMAL 16
#define HS_RANDOM_SEED 0xFFFFFFFFu
#define HS_DEFAULT_GROUP_ID "SHARED"

/* ---------------------------------------------------------------- handles */
typedef struct hs_device hs_device;         /* a physical device, for monitoring */
typedef struct hs_vdevice hs_vdevice;       /* a VDevice (scheduler-enabled, group id) */
typedef struct hs_model hs_model;           /* a configured vision model (InferModel) */
typedef struct hs_llm hs_llm;               /* a loaded LLM (holds the device KV cache) */
typedef struct hs_vlm hs_vlm;               /* a loaded VLM (holds the device KV cache) */
typedef struct hs_completion hs_completion; /* one running LLM/VLM generation */
typedef struct hs_s2t hs_s2t;               /* a loaded Speech2Text (Whisper) model */
typedef struct hs_segments hs_segments;     /* result of one transcription */

/* ---------------------------------------------------------------- structs
 * Sizes/offsets are fixed by static asserts in the shim (see README). */

typedef struct {            /* 12 bytes */
    uint32_t major;
    uint32_t minor;
    uint32_t revision;
} hs_version_t;

typedef struct {            /* 64 bytes */
    char id[64];            /* e.g. PCIe BDF "0001:01:00.0" */
} hs_device_id_t;

typedef struct {            /* 320 bytes */
    uint32_t protocol_version;
    uint32_t fw_major;
    uint32_t fw_minor;
    uint32_t fw_revision;
    uint32_t logger_version;
    int32_t architecture;   /* hailo_device_architecture_t; 6 = HAILO10H */
    int32_t is_release;     /* 1 = release firmware */
    uint32_t reserved0;
    char device_id[64];
    char arch_name[32];     /* e.g. "HAILO10H" */
    char board_name[64];
    char serial_number[32];
    char part_number[32];
    char product_name[64];
} hs_identity_t;

typedef struct {            /* 12 bytes */
    float ts0_celsius;
    float ts1_celsius;
    uint32_t sample_count;
} hs_temperature_t;

typedef struct {            /* 48 bytes; any value -1 = not available from the device */
    int32_t health_valid;   /* 1 if the next three fields were read */
    int32_t perf_valid;     /* 1 if the performance fields were read */
    float on_die_temperature_celsius;
    int32_t on_die_voltage_mv;
    int32_t bist_failure_mask;
    float cpu_utilization_percent;
    float nnc_utilization_percent;
    int32_t dsp_utilization_percent;
    uint64_t ram_total_kib;
    uint64_t ram_used_kib;
} hs_health_t;

typedef struct {            /* 40 bytes */
    uint32_t batch_size;            /* >= 1 */
    int32_t input_format_type;      /* HS_FORMAT_TYPE_*; AUTO = native (UINT8) */
    int32_t output_format_type;     /* AUTO = native quantized, or FLOAT32 = de-quantized */
    int32_t scheduler_priority;     /* 0..31, HailoRT normal = 16 */
    uint32_t scheduler_threshold;   /* 0 = leave HailoRT default */
    uint32_t scheduler_timeout_ms;  /* 0 = leave HailoRT default */
    float nms_score_threshold;      /* NaN = leave HEF default (NMS outputs only) */
    float nms_iou_threshold;        /* NaN = leave HEF default */
    uint32_t nms_max_proposals_per_class; /* 0 = leave HEF default */
    uint32_t nms_max_proposals_total;     /* 0 = leave HEF default */
} hs_model_params_t;

typedef struct {            /* 200 bytes */
    char name[128];
    uint32_t height;
    uint32_t width;
    uint32_t features;
    int32_t format_type;    /* host-side type after the requested conversion */
    int32_t format_order;
    int32_t is_nms;
    uint64_t frame_size;    /* bytes of one frame in host format: the buffer size infer wants */
    uint32_t nms_number_of_classes;
    uint32_t nms_max_bboxes_per_class;
    uint32_t nms_max_bboxes_total;
    uint32_t nms_max_accumulated_mask_size;
    uint32_t quant_count;   /* 1 = per-tensor; > 1 = per-channel (see hs_model_quant_infos) */
    float qp_scale;         /* first quant info: x = (q - qp_zp) * qp_scale */
    float qp_zp;
    float limvals_min;
    float limvals_max;
    uint32_t reserved0;
} hs_io_info_t;

typedef struct {            /* 16 bytes */
    float qp_scale;
    float qp_zp;
    float limvals_min;
    float limvals_max;
} hs_quant_t;

typedef struct {            /* 132 bytes */
    char lora_name[128];    /* "" = none (LLM only) */
    int32_t optimize_memory_on_device; /* 1 = host-side tokenizer (needs a HailoRT built for it) */
} hs_genai_params_t;

typedef struct {            /* 32 bytes; "unset" fields take the model's defaults */
    float temperature;      /* NaN = model default */
    float top_p;            /* NaN = model default */
    uint32_t top_k;         /* 0 = model default */
    float frequency_penalty;/* NaN = model default */
    uint32_t max_generated_tokens; /* 0 = model default */
    int32_t do_sample;      /* -1 = model default, 0 = greedy, 1 = sample */
    int32_t use_seed;       /* 0 = model default seed, 1 = use `seed` */
    uint32_t seed;          /* HS_RANDOM_SEED = random */
} hs_gen_params_t;

typedef struct {            /* 32 bytes */
    uint32_t height;
    uint32_t width;
    uint32_t features;
    int32_t format_type;
    int32_t format_order;
    uint32_t reserved0;
    uint64_t frame_size;    /* exact byte size of one frame passed to hs_vlm_generate_start */
} hs_frame_spec_t;

typedef struct {            /* 28 bytes */
    int32_t task;           /* HS_S2T_TASK_* */
    float repetition_penalty; /* NaN or <= 0 = model default (HailoRT >= 5.2 only) */
    uint32_t timeout_ms;    /* HS_TIMEOUT_DEFAULT = 10 s; raise it for long audio (HailoRT 5.1/5.2 ignore it) */
    char language[16];      /* ISO-639-1, "" = auto-detect */
} hs_s2t_params_t;

/* ---------------------------------------------------------------- library */
HS_API int32_t hs_abi_version(void);                       /* HS_ABI_VERSION of this build; callers must check equality */
HS_API const char *hs_shim_version(void);                  /* shim release string, e.g. "1.0.0" (static storage) */
HS_API const char *hs_backend_name(void);                  /* "hailort", "fake", or "none" (HS_BACKEND names a backend not built in) */
HS_API int32_t hs_runtime_version(hs_version_t *runtime, hs_version_t *built); /* HailoRT version loaded vs built against; VERSION_MISMATCH if they differ */
HS_API const char *hs_status_name(int32_t status);         /* "HAILO_TIMEOUT", "HS_BUFFER_TOO_SMALL", ... (static storage, never NULL) */
HS_API const char *hs_last_error(void);                    /* message of the last failure on this thread, "" if none (valid until the next hs_ call on this thread) */

HS_API hs_model_params_t hs_model_default_params(void);    /* batch 1, AUTO formats, priority 16, everything else unset */
HS_API hs_gen_params_t hs_gen_default_params(void);        /* every field "unset" = model defaults */
HS_API hs_genai_params_t hs_genai_default_params(void);    /* no LoRA, optimize_memory_on_device 0 */
HS_API hs_s2t_params_t hs_s2t_default_params(void);        /* transcribe, auto language, default penalty and timeout */

/* ---------------------------------------------------------------- devices */
HS_API int32_t hs_scan(hs_device_id_t *ids, uint32_t cap, uint32_t *count);  /* list device ids; *count = number found (BUFFER_TOO_SMALL if > cap) */
HS_API int32_t hs_device_open(const char *device_id, hs_device **out);        /* open a device for monitoring; NULL or "" = first device */
HS_API int32_t hs_device_close(hs_device *dev);                               /* release a device handle */
HS_API int32_t hs_device_identify(hs_device *dev, hs_identity_t *out);        /* firmware version, arch, board, serial, part number, product */
HS_API int32_t hs_device_temperature(hs_device *dev, hs_temperature_t *out);  /* the two on-die temperature sensors in Celsius */
HS_API int32_t hs_device_health(hs_device *dev, hs_health_t *out);            /* health + performance counters; fields the device cannot give are -1 / *_valid = 0 */
HS_API int32_t hs_device_power(hs_device *dev, float *watts);                 /* instantaneous power in W, or NOT_SUPPORTED without a power sensor */

HS_API int32_t hs_vdevice_open(const char *group_id, hs_vdevice **out);       /* open a scheduler-enabled VDevice; NULL group = "SHARED"; "UNIQUE" = exclusive */
HS_API int32_t hs_vdevice_close(hs_vdevice *vdev);                            /* drop the handle; the device is released once its models are gone too */

/* ---------------------------------------------------------------- vision models */
HS_API int32_t hs_model_load(hs_vdevice *vdev, const char *hef_path, const hs_model_params_t *params, hs_model **out); /* create + configure an InferModel; params NULL = defaults */
HS_API int32_t hs_model_io_count(hs_model *model, uint32_t *n_inputs, uint32_t *n_outputs);                       /* number of input and output streams */
HS_API int32_t hs_model_io_info(hs_model *model, int32_t is_output, uint32_t index, hs_io_info_t *out);             /* describe one stream (order = HailoRT's inputs()/outputs() order) */
HS_API int32_t hs_model_quant_infos(hs_model *model, int32_t is_output, uint32_t index, hs_quant_t *out, uint32_t cap, uint32_t *count); /* all (per-channel) quant infos of a stream */
HS_API int32_t hs_model_infer(hs_model *model, const void *const *inputs, const size_t *input_sizes, uint32_t n_inputs,
                              void *const *outputs, const size_t *output_sizes, uint32_t n_outputs, uint32_t timeout_ms); /* one synchronous frame; every size must equal its frame_size */
HS_API int32_t hs_model_unload(hs_model *model);                                                                    /* shut down and free the model */

/* ---------------------------------------------------------------- LLM */
HS_API int32_t hs_llm_create(hs_vdevice *vdev, const char *hef_path, const hs_genai_params_t *params, hs_llm **out); /* load an LLM (takes the device's single KV cache); params NULL = defaults */
HS_API int32_t hs_llm_generation_defaults(hs_llm *llm, hs_gen_params_t *out);           /* the model's default generation parameters, every field set */
HS_API int32_t hs_llm_context_info(hs_llm *llm, uint32_t *max_context, uint32_t *used_context); /* KV-cache capacity and current usage in tokens */
HS_API int32_t hs_llm_prompt_template(hs_llm *llm, char *buf, size_t cap, size_t *len); /* the chat template (Jinja) embedded in the HEF */
HS_API int32_t hs_llm_tokenize(hs_llm *llm, const char *text, int32_t *ids, size_t cap, size_t *count); /* token ids of text; *count = number of tokens */
HS_API int32_t hs_llm_set_stop_tokens(hs_llm *llm, const char *stop_tokens_json);      /* replace the stop strings with a JSON array of strings, e.g. ["<|im_end|>"] */
HS_API int32_t hs_llm_get_stop_tokens(hs_llm *llm, char *buf, size_t cap, size_t *len); /* the stop strings as a JSON array */
HS_API int32_t hs_llm_generate_start(hs_llm *llm, const hs_gen_params_t *params, const char *raw_prompt,
                                     const char *messages_json, const char *tools_json, hs_completion **out); /* start generating from a raw prompt XOR a JSON array of messages (+ optional JSON array of tools) */
HS_API int32_t hs_llm_clear_context(hs_llm *llm);                                       /* forget the conversation (KV cache); not while a completion is alive */
HS_API int32_t hs_llm_destroy(hs_llm *llm);                                             /* unload the LLM (the KV cache is freed once its completion is freed too) */

/* ---------------------------------------------------------------- completions (LLM and VLM) */
HS_API int32_t hs_completion_read(hs_completion *c, char *buf, size_t cap, uint32_t timeout_ms, size_t *len, int32_t *gen_status); /* next UTF-8 piece (never splits a character), NUL-terminated; *gen_status = HS_GEN_* */
HS_API int32_t hs_completion_abort(hs_completion *c);                                   /* stop generating; safe from another thread while a reader blocks in read */
HS_API int32_t hs_completion_free(hs_completion *c);                                    /* free (aborts first if still generating); do not call while reading */

/* ---------------------------------------------------------------- VLM */
HS_API int32_t hs_vlm_create(hs_vdevice *vdev, const char *hef_path, const hs_genai_params_t *params, hs_vlm **out); /* load a VLM (takes the device's single KV cache) */
HS_API int32_t hs_vlm_frame_spec(hs_vlm *vlm, hs_frame_spec_t *out);                    /* the shape/type/order/size every input frame must have */
HS_API int32_t hs_vlm_generation_defaults(hs_vlm *vlm, hs_gen_params_t *out);           /* the model's default generation parameters */
HS_API int32_t hs_vlm_context_info(hs_vlm *vlm, uint32_t *max_context, uint32_t *used_context); /* KV-cache capacity and usage in tokens */
HS_API int32_t hs_vlm_generate_start(hs_vlm *vlm, const hs_gen_params_t *params, const char *messages_json,
                                     const void *const *frames, const size_t *frame_sizes, uint32_t n_frames, hs_completion **out); /* messages with one {"type":"image"} per frame; frames are copied */
HS_API int32_t hs_vlm_clear_context(hs_vlm *vlm);                                       /* forget the conversation; not while a completion is alive */
HS_API int32_t hs_vlm_destroy(hs_vlm *vlm);                                             /* unload the VLM */

/* ---------------------------------------------------------------- Speech2Text */
HS_API int32_t hs_s2t_create(hs_vdevice *vdev, const char *hef_path, hs_s2t **out);      /* load a Speech2Text (Whisper) model */
HS_API int32_t hs_s2t_transcribe(hs_s2t *s2t, const float *pcm, size_t n_samples, const hs_s2t_params_t *params, hs_segments **out); /* 16 kHz mono float PCM in [-1,1) -> segments; params NULL = defaults */
HS_API int32_t hs_s2t_destroy(hs_s2t *s2t);                                             /* unload the model */
HS_API int32_t hs_segments_count(hs_segments *segs, uint32_t *count);                    /* number of segments */
HS_API int32_t hs_segment_get(hs_segments *segs, uint32_t index, float *start_sec, float *end_sec, const char **text, size_t *text_len); /* one segment; text is owned by segs (valid until hs_segments_free) */
HS_API int32_t hs_segments_free(hs_segments *segs);                                      /* free a transcription result */

/* Tests control the fake backend through hailo_shim_fake.h. */

#ifdef __cplusplus
}
#endif

#endif /* HAILO_SHIM_H */
