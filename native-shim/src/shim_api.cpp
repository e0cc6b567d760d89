// The exported C surface: argument validation, handle registry, last-error text,
// UTF-8 assembly of streamed pieces, JSON splitting, and dispatch to a backend.
#include "hailo_shim.h"
#include "hailo_shim_fake.h"
#include "json.hpp"
#include "shim_internal.hpp"
#include "utf8.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <new>
#include <unordered_map>

#ifndef HS_SHIM_VERSION
#define HS_SHIM_VERSION "0.0.0"
#endif

// ------------------------------------------------------------------ layout guards
// These are the layouts a C# binding mirrors; changing any of them needs HS_ABI_VERSION++.
static_assert(sizeof(hs_version_t) == 12, "hs_version_t layout");
static_assert(sizeof(hs_device_id_t) == 64, "hs_device_id_t layout");
static_assert(sizeof(hs_identity_t) == 320 && offsetof(hs_identity_t, device_id) == 32 &&
                  offsetof(hs_identity_t, arch_name) == 96 && offsetof(hs_identity_t, board_name) == 128 &&
                  offsetof(hs_identity_t, serial_number) == 192 && offsetof(hs_identity_t, part_number) == 224 &&
                  offsetof(hs_identity_t, product_name) == 256,
              "hs_identity_t layout");
static_assert(sizeof(hs_temperature_t) == 12, "hs_temperature_t layout");
static_assert(sizeof(hs_health_t) == 48 && offsetof(hs_health_t, ram_total_kib) == 32 &&
                  offsetof(hs_health_t, ram_used_kib) == 40,
              "hs_health_t layout");
static_assert(sizeof(hs_model_params_t) == 40 && offsetof(hs_model_params_t, nms_score_threshold) == 24,
              "hs_model_params_t layout");
static_assert(sizeof(hs_io_info_t) == 200 && offsetof(hs_io_info_t, height) == 128 &&
                  offsetof(hs_io_info_t, frame_size) == 152 && offsetof(hs_io_info_t, nms_number_of_classes) == 160 &&
                  offsetof(hs_io_info_t, quant_count) == 176 && offsetof(hs_io_info_t, qp_scale) == 180 &&
                  offsetof(hs_io_info_t, reserved0) == 196,
              "hs_io_info_t layout");
static_assert(sizeof(hs_quant_t) == 16, "hs_quant_t layout");
static_assert(sizeof(hs_genai_params_t) == 132 && offsetof(hs_genai_params_t, optimize_memory_on_device) == 128,
              "hs_genai_params_t layout");
static_assert(sizeof(hs_gen_params_t) == 32 && offsetof(hs_gen_params_t, seed) == 28, "hs_gen_params_t layout");
static_assert(sizeof(hs_frame_spec_t) == 32 && offsetof(hs_frame_spec_t, frame_size) == 24, "hs_frame_spec_t layout");
static_assert(sizeof(hs_s2t_params_t) == 28 && offsetof(hs_s2t_params_t, language) == 12, "hs_s2t_params_t layout");

namespace hs {

// ------------------------------------------------------------------ last error
namespace {
thread_local std::string t_last_error;
thread_local const char *t_func = "hailo_shim";
}  // namespace

int fail(int status, const std::string &message) {
    t_last_error = std::string(t_func) + ": " + message + " [" + status_name(status) + "]";
    return status;
}

namespace {

// ------------------------------------------------------------------ backend selection
struct BackendState {
    std::unique_ptr<Backend> backend;
    std::string name = "none";
    std::string why_none;
};

BackendState &backend_state() {
    static BackendState *state = [] {
        auto *s = new BackendState();  // intentionally leaked: valid until process exit
        const char *env = std::getenv("HS_BACKEND");
        std::string want = env ? env : "";
#if defined(HS_HAVE_HAILORT)
        const bool have_hailort = true;
#else
        const bool have_hailort = false;
#endif
        if (want.empty()) want = have_hailort ? "hailort" : "fake";
        if (want == "fake") {
            s->backend = make_fake_backend();
            s->name = "fake";
        } else if (want == "hailort") {
#if defined(HS_HAVE_HAILORT)
            s->backend = make_hailort_backend();
            s->name = "hailort";
#else
            s->why_none = "HS_BACKEND=hailort but this libhailo_shim was built without HailoRT";
#endif
        } else {
            s->why_none = "unknown HS_BACKEND value '" + want + "' (expected 'hailort' or 'fake')";
        }
        return s;
    }();
    return *state;
}

int get_backend(Backend *&out) {
    BackendState &s = backend_state();
    out = s.backend.get();
    if (!out) return fail(HS_STATUS_NO_BACKEND, s.why_none);
    return HS_STATUS_SUCCESS;
}

// ------------------------------------------------------------------ handle registry
enum class Kind { Device, VDevice, Model, Llm, Vlm, Completion, S2t, Segments };

const char *kind_name(Kind k) {
    switch (k) {
    case Kind::Device: return "hs_device";
    case Kind::VDevice: return "hs_vdevice";
    case Kind::Model: return "hs_model";
    case Kind::Llm: return "hs_llm";
    case Kind::Vlm: return "hs_vlm";
    case Kind::Completion: return "hs_completion";
    case Kind::S2t: return "hs_s2t";
    case Kind::Segments: return "hs_segments";
    }
    return "handle";
}

// Handles are never-reused numbers disguised as pointers, so a stale or doubly
// freed handle is always detected instead of aliasing a newer object.
class Registry {
public:
    void *add(Kind kind, std::shared_ptr<void> obj) {
        std::lock_guard<std::mutex> lock(mu_);
        next_ += 0x10;
        map_.emplace(next_, Entry{kind, std::move(obj)});
        return reinterpret_cast<void *>(next_);
    }
    // Returns the object, or sets a failure and returns null.
    std::shared_ptr<void> get(const void *h, Kind kind, int &status, bool remove = false) {
        status = HS_STATUS_SUCCESS;
        if (!h) {
            status = fail(HS_STATUS_INVALID_ARGUMENT, std::string(kind_name(kind)) + " handle is NULL");
            return nullptr;
        }
        std::lock_guard<std::mutex> lock(mu_);
        auto it = map_.find(reinterpret_cast<uintptr_t>(h));
        if (it == map_.end()) {
            status = fail(HS_STATUS_INVALID_ARGUMENT,
                          std::string(kind_name(kind)) + " handle is not live (already freed, or never created)");
            return nullptr;
        }
        if (it->second.kind != kind) {
            status = fail(HS_STATUS_INVALID_ARGUMENT, std::string("handle is a ") + kind_name(it->second.kind) +
                                                          ", expected a " + kind_name(kind));
            return nullptr;
        }
        std::shared_ptr<void> obj = it->second.obj;
        if (remove) map_.erase(it);
        return obj;
    }

private:
    struct Entry {
        Kind kind;
        std::shared_ptr<void> obj;
    };
    std::mutex mu_;
    std::unordered_map<uintptr_t, Entry> map_;
    uintptr_t next_ = 0x5000;
};

Registry &registry() {
    static Registry *r = new Registry();  // intentionally leaked
    return *r;
}

template <class T>
std::shared_ptr<T> lookup(const void *h, Kind kind, int &status) {
    return std::static_pointer_cast<T>(registry().get(h, kind, status));
}

template <class T>
std::shared_ptr<T> take(const void *h, Kind kind, int &status) {
    return std::static_pointer_cast<T>(registry().get(h, kind, status, true));
}

// ------------------------------------------------------------------ handle objects
struct DeviceH {
    std::shared_ptr<Device> be;
};
struct VDeviceH {
    std::shared_ptr<VDevice> be;
};
struct ModelH {
    std::shared_ptr<Model> be;
    std::vector<hs_io_info_t> inputs, outputs;
};
// Shared by an LLM/VLM and its completion: enforces one live completion at a time.
struct GenOwner {
    std::mutex mu;
    bool completion_alive = false;
};
struct LlmH {
    std::shared_ptr<Llm> be;
    std::shared_ptr<GenOwner> owner = std::make_shared<GenOwner>();
};
struct VlmH {
    std::shared_ptr<Vlm> be;
    std::shared_ptr<GenOwner> owner = std::make_shared<GenOwner>();
    hs_frame_spec_t spec{};
};
struct CompletionH {
    std::shared_ptr<Completion> be;
    std::shared_ptr<GenOwner> owner;
    std::shared_ptr<void> parent;  // keeps the LLM/VLM (and its KV cache) alive
    std::mutex read_mu;            // one reader at a time
    std::string pending;           // bytes received but not yet handed out
    bool finished = false;         // backend reported a final status (guarded by read_mu)
    int final_status = HS_GEN_GENERATING;
    int sticky_error = 0;
    std::string sticky_message;
    std::atomic<bool> abort_requested{false};
    std::atomic<bool> done{false};  // final status handed to the caller

    ~CompletionH() {
        be.reset();  // destroy the backend completion before releasing the owner slot
        if (owner) {
            std::lock_guard<std::mutex> lock(owner->mu);
            owner->completion_alive = false;
        }
    }
};
struct S2tH {
    std::shared_ptr<S2t> be;
};
struct SegmentsH {
    std::vector<Segment> segs;
};

// ------------------------------------------------------------------ entry guard
template <class F>
int32_t guarded(const char *fn, F &&body) {
    t_func = fn;
    t_last_error.clear();
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(HS_STATUS_OUT_OF_HOST_MEMORY, "out of host memory");
    } catch (const std::exception &e) {
        return fail(HS_STATUS_EXCEPTION, std::string("C++ exception: ") + e.what());
    } catch (...) {
        return fail(HS_STATUS_EXCEPTION, "unknown C++ exception");
    }
}

int bad_arg(const std::string &msg) { return fail(HS_STATUS_INVALID_ARGUMENT, msg); }

// Copies a string into a caller buffer following the (buf, cap, len) convention.
int put_string(const std::string &s, char *buf, size_t cap, size_t *len) {
    if (!len) return bad_arg("len is NULL");
    if (!buf && cap) return bad_arg("buf is NULL but cap > 0");
    *len = s.size();
    if (cap <= s.size()) {
        if (cap) {
            std::string tmp = s;
            utf8::sanitize(tmp, true);
            size_t n = utf8::boundary_at_or_below(tmp, std::min(cap - 1, tmp.size()));
            std::memcpy(buf, tmp.data(), n);
            buf[n] = '\0';
        }
        return fail(HS_STATUS_BUFFER_TOO_SMALL,
                    "need " + std::to_string(s.size() + 1) + " bytes, buffer has " + std::to_string(cap));
    }
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    return HS_STATUS_SUCCESS;
}

bool cstr_fits(const char *arr, size_t n) { return std::memchr(arr, '\0', n) != nullptr; }

int check_path(const char *path) {
    if (!path || !*path) return bad_arg("HEF path is NULL or empty");
    return HS_STATUS_SUCCESS;
}

int check_model_params(const hs_model_params_t &p) {
    if (p.batch_size < 1 || p.batch_size > 65535) return bad_arg("batch_size must be 1..65535");
    if (p.input_format_type < HS_FORMAT_TYPE_AUTO || p.input_format_type > HS_FORMAT_TYPE_FLOAT32)
        return bad_arg("input_format_type must be HS_FORMAT_TYPE_*");
    if (p.output_format_type < HS_FORMAT_TYPE_AUTO || p.output_format_type > HS_FORMAT_TYPE_FLOAT32)
        return bad_arg("output_format_type must be HS_FORMAT_TYPE_*");
    if (p.scheduler_priority < 0 || p.scheduler_priority > 31) return bad_arg("scheduler_priority must be 0..31");
    if (!std::isnan(p.nms_score_threshold) && (p.nms_score_threshold < 0.f || p.nms_score_threshold > 1.f))
        return bad_arg("nms_score_threshold must be NaN or 0..1");
    if (!std::isnan(p.nms_iou_threshold) && (p.nms_iou_threshold < 0.f || p.nms_iou_threshold > 1.f))
        return bad_arg("nms_iou_threshold must be NaN or 0..1");
    return HS_STATUS_SUCCESS;
}

int check_gen_params(const hs_gen_params_t *p) {
    if (!p) return HS_STATUS_SUCCESS;
    if (!std::isnan(p->temperature) && !(p->temperature >= 0.f && std::isfinite(p->temperature)))
        return bad_arg("temperature must be NaN (default) or >= 0");
    if (!std::isnan(p->top_p) && !(p->top_p > 0.f && p->top_p <= 1.f))
        return bad_arg("top_p must be NaN (default) or in (0, 1]");
    if (!std::isnan(p->frequency_penalty) && !std::isfinite(p->frequency_penalty))
        return bad_arg("frequency_penalty must be NaN (default) or finite");
    if (p->do_sample < -1 || p->do_sample > 1) return bad_arg("do_sample must be -1, 0 or 1");
    if (p->use_seed != 0 && p->use_seed != 1) return bad_arg("use_seed must be 0 or 1");
    return HS_STATUS_SUCCESS;
}

int check_genai_params(const hs_genai_params_t &p) {
    if (!cstr_fits(p.lora_name, sizeof p.lora_name)) return bad_arg("lora_name is not NUL-terminated");
    if (p.optimize_memory_on_device != 0 && p.optimize_memory_on_device != 1)
        return bad_arg("optimize_memory_on_device must be 0 or 1");
    return HS_STATUS_SUCCESS;
}

// Parses a JSON array whose elements must all be objects (or all strings when
// `strings` is set) and returns them re-serialised (objects) or decoded (strings).
int split_json_array(const char *text, const char *what, bool strings, bool allow_empty,
                     std::vector<std::string> &out) {
    out.clear();
    json::Value v;
    std::string err;
    if (!json::parse(text, v, err)) return bad_arg(std::string(what) + " is not valid JSON: " + err);
    if (!v.is_array()) return bad_arg(std::string(what) + " must be a JSON array");
    if (v.items.empty() && !allow_empty) return bad_arg(std::string(what) + " must not be empty");
    for (size_t i = 0; i < v.items.size(); ++i) {
        const json::Value &e = v.items[i];
        if (strings) {
            if (!e.is_string()) return bad_arg(std::string(what) + "[" + std::to_string(i) + "] must be a string");
            out.push_back(e.str);
        } else {
            if (!e.is_object()) return bad_arg(std::string(what) + "[" + std::to_string(i) + "] must be an object");
            out.push_back(json::dump(e));
        }
    }
    return HS_STATUS_SUCCESS;
}

template <class H>
void set_out(H **out, void *h) {
    if (out) *out = static_cast<H *>(h);
}

int start_completion(const std::shared_ptr<GenOwner> &owner, std::shared_ptr<void> parent,
                     const std::function<int(std::unique_ptr<Completion> &)> &gen, hs_completion **out) {
    std::lock_guard<std::mutex> lock(owner->mu);
    if (owner->completion_alive)
        return fail(HS_STATUS_INVALID_OPERATION,
                    "a completion of this model is still alive; hs_completion_free it before starting another");
    std::unique_ptr<Completion> be;
    if (int st = gen(be)) return st;
    auto h = std::make_shared<CompletionH>();
    h->be = std::move(be);
    h->owner = owner;
    h->parent = std::move(parent);
    owner->completion_alive = true;
    set_out(out, registry().add(Kind::Completion, h));
    return HS_STATUS_SUCCESS;
}

}  // namespace
}  // namespace hs

using namespace hs;

// ==================================================================== library
extern "C" {

HS_API int32_t hs_abi_version(void) { return HS_ABI_VERSION; }

HS_API const char *hs_shim_version(void) { return HS_SHIM_VERSION; }

HS_API const char *hs_backend_name(void) {
    try {
        return backend_state().name.c_str();
    } catch (...) {
        return "none";
    }
}

HS_API int32_t hs_runtime_version(hs_version_t *runtime, hs_version_t *built) {
    return guarded(__func__, [&]() -> int {
        Backend *be = nullptr;
        if (int st = get_backend(be)) return st;
        hs_version_t r{}, b{};
        if (int st = be->runtime_version(r, b)) return st;
        if (runtime) *runtime = r;
        if (built) *built = b;
        if (r.major != b.major || r.minor != b.minor || r.revision != b.revision)
            return fail(HS_STATUS_VERSION_MISMATCH,
                        "libhailort " + std::to_string(r.major) + "." + std::to_string(r.minor) + "." +
                            std::to_string(r.revision) + " is loaded but the shim was built against " +
                            std::to_string(b.major) + "." + std::to_string(b.minor) + "." + std::to_string(b.revision) +
                            "; rebuild the shim for the installed HailoRT");
        return HS_STATUS_SUCCESS;
    });
}

HS_API const char *hs_status_name(int32_t status) { return status_name(status); }

HS_API const char *hs_last_error(void) { return t_last_error.c_str(); }

HS_API hs_model_params_t hs_model_default_params(void) {
    hs_model_params_t p;
    std::memset(&p, 0, sizeof p);
    p.batch_size = 1;
    p.input_format_type = HS_FORMAT_TYPE_AUTO;
    p.output_format_type = HS_FORMAT_TYPE_AUTO;
    p.scheduler_priority = HS_SCHEDULER_PRIORITY_NORMAL;
    p.scheduler_threshold = 0;
    p.scheduler_timeout_ms = 0;
    p.nms_score_threshold = NAN;
    p.nms_iou_threshold = NAN;
    p.nms_max_proposals_per_class = 0;
    p.nms_max_proposals_total = 0;
    return p;
}

HS_API hs_gen_params_t hs_gen_default_params(void) {
    hs_gen_params_t p;
    std::memset(&p, 0, sizeof p);
    p.temperature = NAN;
    p.top_p = NAN;
    p.top_k = 0;
    p.frequency_penalty = NAN;
    p.max_generated_tokens = 0;
    p.do_sample = -1;
    p.use_seed = 0;
    p.seed = HS_RANDOM_SEED;
    return p;
}

HS_API hs_genai_params_t hs_genai_default_params(void) {
    hs_genai_params_t p;
    std::memset(&p, 0, sizeof p);
    return p;
}

HS_API hs_s2t_params_t hs_s2t_default_params(void) {
    hs_s2t_params_t p;
    std::memset(&p, 0, sizeof p);
    p.task = HS_S2T_TASK_TRANSCRIBE;
    p.repetition_penalty = NAN;
    p.timeout_ms = HS_TIMEOUT_DEFAULT;
    return p;
}

// ==================================================================== devices
HS_API int32_t hs_scan(hs_device_id_t *ids, uint32_t cap, uint32_t *count) {
    return guarded(__func__, [&]() -> int {
        if (!count) return bad_arg("count is NULL");
        if (!ids && cap) return bad_arg("ids is NULL but cap > 0");
        *count = 0;
        Backend *be = nullptr;
        if (int st = get_backend(be)) return st;
        std::vector<std::string> found;
        if (int st = be->scan(found)) return st;
        *count = static_cast<uint32_t>(found.size());
        for (uint32_t i = 0; i < cap && i < found.size(); ++i) copy_cstr(ids[i].id, found[i]);
        if (found.size() > cap)
            return fail(HS_STATUS_BUFFER_TOO_SMALL,
                        std::to_string(found.size()) + " devices found, room for " + std::to_string(cap));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_device_open(const char *device_id, hs_device **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        Backend *be = nullptr;
        if (int st = get_backend(be)) return st;
        auto h = std::make_shared<DeviceH>();
        if (int st = be->open_device(device_id ? device_id : "", h->be)) return st;
        set_out(out, registry().add(Kind::Device, h));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_device_close(hs_device *dev) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = take<DeviceH>(dev, Kind::Device, st);
        return st;
    });
}

HS_API int32_t hs_device_identify(hs_device *dev, hs_identity_t *out) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<DeviceH>(dev, Kind::Device, st);
        if (!h) return st;
        if (!out) return bad_arg("out is NULL");
        hs_identity_t id;
        std::memset(&id, 0, sizeof id);
        if ((st = h->be->identify(id))) return st;
        *out = id;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_device_temperature(hs_device *dev, hs_temperature_t *out) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<DeviceH>(dev, Kind::Device, st);
        if (!h) return st;
        if (!out) return bad_arg("out is NULL");
        hs_temperature_t t{};
        if ((st = h->be->temperature(t))) return st;
        *out = t;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_device_health(hs_device *dev, hs_health_t *out) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<DeviceH>(dev, Kind::Device, st);
        if (!h) return st;
        if (!out) return bad_arg("out is NULL");
        hs_health_t v;
        std::memset(&v, 0, sizeof v);
        if ((st = h->be->health(v))) return st;
        *out = v;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_device_power(hs_device *dev, float *watts) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<DeviceH>(dev, Kind::Device, st);
        if (!h) return st;
        if (!watts) return bad_arg("watts is NULL");
        float w = 0.f;
        if ((st = h->be->power(w))) return st;
        *watts = w;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_vdevice_open(const char *group_id, hs_vdevice **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        std::string group = group_id ? group_id : HS_DEFAULT_GROUP_ID;
        if (group.empty()) return bad_arg("group_id is empty (use NULL for \"SHARED\")");
        Backend *be = nullptr;
        if (int st = get_backend(be)) return st;
        auto h = std::make_shared<VDeviceH>();
        if (int st = be->open_vdevice(group, h->be)) return st;
        set_out(out, registry().add(Kind::VDevice, h));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_vdevice_close(hs_vdevice *vdev) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = take<VDeviceH>(vdev, Kind::VDevice, st);
        return st;
    });
}

// ==================================================================== vision
HS_API int32_t hs_model_load(hs_vdevice *vdev, const char *hef_path, const hs_model_params_t *params,
                             hs_model **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        int st = 0;
        auto vd = lookup<VDeviceH>(vdev, Kind::VDevice, st);
        if (!vd) return st;
        if ((st = check_path(hef_path))) return st;
        hs_model_params_t p = params ? *params : hs_model_default_params();
        if ((st = check_model_params(p))) return st;
        auto h = std::make_shared<ModelH>();
        if ((st = vd->be->load_model(vd->be, hef_path, p, h->be))) return st;
        for (int dir = 0; dir < 2; ++dir) {
            uint32_t n = dir ? h->be->output_count() : h->be->input_count();
            auto &vec = dir ? h->outputs : h->inputs;
            for (uint32_t i = 0; i < n; ++i) {
                hs_io_info_t info;
                std::memset(&info, 0, sizeof info);
                if ((st = h->be->io_info(dir == 1, i, info))) return st;
                vec.push_back(info);
            }
        }
        set_out(out, registry().add(Kind::Model, h));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_model_io_count(hs_model *model, uint32_t *n_inputs, uint32_t *n_outputs) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<ModelH>(model, Kind::Model, st);
        if (!h) return st;
        if (!n_inputs || !n_outputs) return bad_arg("n_inputs/n_outputs is NULL");
        *n_inputs = static_cast<uint32_t>(h->inputs.size());
        *n_outputs = static_cast<uint32_t>(h->outputs.size());
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_model_io_info(hs_model *model, int32_t is_output, uint32_t index, hs_io_info_t *out) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<ModelH>(model, Kind::Model, st);
        if (!h) return st;
        if (!out) return bad_arg("out is NULL");
        const auto &vec = is_output ? h->outputs : h->inputs;
        if (index >= vec.size())
            return bad_arg(std::string(is_output ? "output" : "input") + " index " + std::to_string(index) +
                           " out of range (count " + std::to_string(vec.size()) + ")");
        *out = vec[index];
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_model_quant_infos(hs_model *model, int32_t is_output, uint32_t index, hs_quant_t *out,
                                    uint32_t cap, uint32_t *count) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<ModelH>(model, Kind::Model, st);
        if (!h) return st;
        if (!count) return bad_arg("count is NULL");
        if (!out && cap) return bad_arg("out is NULL but cap > 0");
        *count = 0;
        const auto &vec = is_output ? h->outputs : h->inputs;
        if (index >= vec.size()) return bad_arg("stream index " + std::to_string(index) + " out of range");
        std::vector<hs_quant_t> q;
        if ((st = h->be->quant_infos(is_output != 0, index, q))) return st;
        *count = static_cast<uint32_t>(q.size());
        for (uint32_t i = 0; i < cap && i < q.size(); ++i) out[i] = q[i];
        if (q.size() > cap)
            return fail(HS_STATUS_BUFFER_TOO_SMALL,
                        std::to_string(q.size()) + " quant infos, room for " + std::to_string(cap));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_model_infer(hs_model *model, const void *const *inputs, const size_t *input_sizes,
                              uint32_t n_inputs, void *const *outputs, const size_t *output_sizes, uint32_t n_outputs,
                              uint32_t timeout_ms) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<ModelH>(model, Kind::Model, st);
        if (!h) return st;
        if (n_inputs != h->inputs.size() || n_outputs != h->outputs.size())
            return bad_arg("model has " + std::to_string(h->inputs.size()) + " inputs and " +
                           std::to_string(h->outputs.size()) + " outputs, got " + std::to_string(n_inputs) + " and " +
                           std::to_string(n_outputs));
        if (n_inputs && (!inputs || !input_sizes)) return bad_arg("inputs/input_sizes is NULL");
        if (n_outputs && (!outputs || !output_sizes)) return bad_arg("outputs/output_sizes is NULL");
        std::vector<const void *> in(n_inputs);
        std::vector<void *> outv(n_outputs);
        for (uint32_t i = 0; i < n_inputs; ++i) {
            const hs_io_info_t &info = h->inputs[i];
            if (!inputs[i]) return bad_arg("input " + std::to_string(i) + " ('" + info.name + "') buffer is NULL");
            if (input_sizes[i] != info.frame_size)
                return bad_arg("input " + std::to_string(i) + " ('" + info.name + "') buffer is " +
                               std::to_string(input_sizes[i]) + " bytes, frame size is " +
                               std::to_string(info.frame_size));
            in[i] = inputs[i];
        }
        for (uint32_t i = 0; i < n_outputs; ++i) {
            const hs_io_info_t &info = h->outputs[i];
            if (!outputs[i]) return bad_arg("output " + std::to_string(i) + " ('" + info.name + "') buffer is NULL");
            if (output_sizes[i] != info.frame_size)
                return bad_arg("output " + std::to_string(i) + " ('" + info.name + "') buffer is " +
                               std::to_string(output_sizes[i]) + " bytes, frame size is " +
                               std::to_string(info.frame_size));
            outv[i] = outputs[i];
        }
        return h->be->infer(in, outv, resolve_timeout(timeout_ms));
    });
}

HS_API int32_t hs_model_unload(hs_model *model) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = take<ModelH>(model, Kind::Model, st);
        return st;
    });
}

// ==================================================================== LLM
HS_API int32_t hs_llm_create(hs_vdevice *vdev, const char *hef_path, const hs_genai_params_t *params, hs_llm **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        int st = 0;
        auto vd = lookup<VDeviceH>(vdev, Kind::VDevice, st);
        if (!vd) return st;
        if ((st = check_path(hef_path))) return st;
        hs_genai_params_t p = params ? *params : hs_genai_default_params();
        if ((st = check_genai_params(p))) return st;
        auto h = std::make_shared<LlmH>();
        if ((st = vd->be->create_llm(vd->be, hef_path, p, h->be))) return st;
        set_out(out, registry().add(Kind::Llm, h));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_llm_generation_defaults(hs_llm *llm, hs_gen_params_t *out) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<LlmH>(llm, Kind::Llm, st);
        if (!h) return st;
        if (!out) return bad_arg("out is NULL");
        hs_gen_params_t p = hs_gen_default_params();
        if ((st = h->be->generation_defaults(p))) return st;
        *out = p;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_llm_context_info(hs_llm *llm, uint32_t *max_context, uint32_t *used_context) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<LlmH>(llm, Kind::Llm, st);
        if (!h) return st;
        if (!max_context || !used_context) return bad_arg("max_context/used_context is NULL");
        uint32_t m = 0, u = 0;
        if ((st = h->be->context_info(m, u))) return st;
        *max_context = m;
        *used_context = u;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_llm_prompt_template(hs_llm *llm, char *buf, size_t cap, size_t *len) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<LlmH>(llm, Kind::Llm, st);
        if (!h) return st;
        if (!len) return bad_arg("len is NULL");
        std::string t;
        if ((st = h->be->prompt_template(t))) return st;
        return put_string(t, buf, cap, len);
    });
}

HS_API int32_t hs_llm_tokenize(hs_llm *llm, const char *text, int32_t *ids, size_t cap, size_t *count) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<LlmH>(llm, Kind::Llm, st);
        if (!h) return st;
        if (!text) return bad_arg("text is NULL");
        if (!count) return bad_arg("count is NULL");
        if (!ids && cap) return bad_arg("ids is NULL but cap > 0");
        *count = 0;
        std::vector<int32_t> v;
        if ((st = h->be->tokenize(text, v))) return st;
        *count = v.size();
        for (size_t i = 0; i < cap && i < v.size(); ++i) ids[i] = v[i];
        if (v.size() > cap)
            return fail(HS_STATUS_BUFFER_TOO_SMALL,
                        std::to_string(v.size()) + " tokens, room for " + std::to_string(cap));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_llm_set_stop_tokens(hs_llm *llm, const char *stop_tokens_json) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<LlmH>(llm, Kind::Llm, st);
        if (!h) return st;
        if (!stop_tokens_json) return bad_arg("stop_tokens_json is NULL");
        std::vector<std::string> toks;
        if ((st = split_json_array(stop_tokens_json, "stop_tokens_json", true, true, toks))) return st;
        for (const auto &t : toks)
            if (t.empty()) return bad_arg("stop tokens must not be empty strings");
        return h->be->set_stop_tokens(toks);
    });
}

HS_API int32_t hs_llm_get_stop_tokens(hs_llm *llm, char *buf, size_t cap, size_t *len) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<LlmH>(llm, Kind::Llm, st);
        if (!h) return st;
        if (!len) return bad_arg("len is NULL");
        std::vector<std::string> toks;
        if ((st = h->be->get_stop_tokens(toks))) return st;
        json::Value arr;
        arr.type = json::Value::Type::Array;
        for (auto &t : toks) {
            json::Value s;
            s.type = json::Value::Type::String;
            s.str = t;
            arr.items.push_back(s);
        }
        return put_string(json::dump(arr), buf, cap, len);
    });
}


HS_API int32_t hs_llm_generate_start(hs_llm *llm, const hs_gen_params_t *params, const char *raw_prompt,
                                     const char *messages_json, const char *tools_json, hs_completion **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        int st = 0;
        auto h = lookup<LlmH>(llm, Kind::Llm, st);
        if (!h) return st;
        if ((raw_prompt != nullptr) == (messages_json != nullptr))
            return bad_arg("pass exactly one of raw_prompt and messages_json");
        if ((st = check_gen_params(params))) return st;
        std::string raw;
        std::vector<std::string> msgs, tools;
        if (raw_prompt) {
            if (tools_json && *tools_json) return bad_arg("tools_json needs messages_json, not a raw prompt");
            raw = raw_prompt;
            if (raw.empty()) return bad_arg("raw_prompt is empty");
        } else {
            if ((st = split_json_array(messages_json, "messages_json", false, false, msgs))) return st;
            if (tools_json && *tools_json &&
                (st = split_json_array(tools_json, "tools_json", false, true, tools)))
                return st;
        }
        return start_completion(
            h->owner, h,
            [&](std::unique_ptr<Completion> &c) {
                return h->be->generate(params, raw_prompt ? &raw : nullptr, raw_prompt ? nullptr : &msgs, tools, c);
            },
            out);
    });
}

HS_API int32_t hs_llm_clear_context(hs_llm *llm) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<LlmH>(llm, Kind::Llm, st);
        if (!h) return st;
        std::lock_guard<std::mutex> lock(h->owner->mu);
        if (h->owner->completion_alive)
            return fail(HS_STATUS_INVALID_OPERATION, "cannot clear the context while a completion is alive");
        return h->be->clear_context();
    });
}

HS_API int32_t hs_llm_destroy(hs_llm *llm) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = take<LlmH>(llm, Kind::Llm, st);
        return st;
    });
}

// ==================================================================== completions
HS_API int32_t hs_completion_read(hs_completion *c, char *buf, size_t cap, uint32_t timeout_ms, size_t *len,
                                  int32_t *gen_status) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<CompletionH>(c, Kind::Completion, st);
        if (!h) return st;
        if (!buf || cap == 0) return bad_arg("buf is NULL or cap is 0");
        if (!len || !gen_status) return bad_arg("len/gen_status is NULL");
        buf[0] = '\0';
        *len = 0;
        *gen_status = HS_GEN_GENERATING;
        std::unique_lock<std::mutex> lock(h->read_mu, std::try_to_lock);
        if (!lock.owns_lock())
            return fail(HS_STATUS_INVALID_OPERATION, "another thread is already reading this completion");
        if (h->sticky_error) return fail(h->sticky_error, "completion failed earlier: " + h->sticky_message);

        const uint32_t timeout = resolve_timeout(timeout_ms);
        const bool infinite = timeout == HS_TIMEOUT_INFINITE;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(infinite ? 0 : timeout);
        size_t complete = 0;
        while (true) {
            if (h->abort_requested.load() && !h->finished) {
                h->finished = true;
                h->final_status = HS_GEN_ABORTED;
                h->pending.clear();
            }
            complete = utf8::sanitize(h->pending, h->finished);
            if (complete > 0 || h->finished) break;
            uint32_t remaining = HS_TIMEOUT_INFINITE;
            if (!infinite) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                                  std::chrono::steady_clock::now());
                if (left.count() <= 0)
                    return fail(HS_STATUS_TIMEOUT, "no complete text within " + std::to_string(timeout) + " ms");
                remaining = static_cast<uint32_t>(left.count());
            }
            std::string piece;
            int gs = HS_GEN_GENERATING;
            st = h->be->read(piece, gs, remaining);
            if (st) {
                if (h->abort_requested.load()) continue;  // the abort explains the failure
                if (st == HS_STATUS_TIMEOUT) return st;   // retryable; nothing consumed
                h->sticky_error = st;
                h->sticky_message = t_last_error;
                return st;
            }
            h->pending += piece;
            if (gs != HS_GEN_GENERATING) {
                h->finished = true;
                h->final_status = gs;
            }
        }
        if (complete == 0) {  // finished and drained
            h->done = true;
            *gen_status = h->final_status;
            return HS_STATUS_SUCCESS;
        }
        size_t n = utf8::boundary_at_or_below(h->pending, std::min(complete, cap - 1));
        if (n == 0)
            return fail(HS_STATUS_BUFFER_TOO_SMALL,
                        "next character needs " + std::to_string(utf8::first_char_len(h->pending) + 1) +
                            " bytes, buffer has " + std::to_string(cap));
        std::memcpy(buf, h->pending.data(), n);
        buf[n] = '\0';
        h->pending.erase(0, n);
        *len = n;
        if (h->finished && h->pending.empty()) {
            h->done = true;
            *gen_status = h->final_status;
        }
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_completion_abort(hs_completion *c) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<CompletionH>(c, Kind::Completion, st);
        if (!h) return st;
        if (h->done.load()) return HS_STATUS_SUCCESS;  // already finished: nothing to abort
        if (h->abort_requested.exchange(true)) return HS_STATUS_SUCCESS;
        return h->be->abort();
    });
}

HS_API int32_t hs_completion_free(hs_completion *c) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = take<CompletionH>(c, Kind::Completion, st);
        if (!h) return st;
        if (!h->done.load() && !h->abort_requested.exchange(true)) (void)h->be->abort();
        return HS_STATUS_SUCCESS;
    });
}

// ==================================================================== VLM
HS_API int32_t hs_vlm_create(hs_vdevice *vdev, const char *hef_path, const hs_genai_params_t *params, hs_vlm **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        int st = 0;
        auto vd = lookup<VDeviceH>(vdev, Kind::VDevice, st);
        if (!vd) return st;
        if ((st = check_path(hef_path))) return st;
        hs_genai_params_t p = params ? *params : hs_genai_default_params();
        if ((st = check_genai_params(p))) return st;
        auto h = std::make_shared<VlmH>();
        if ((st = vd->be->create_vlm(vd->be, hef_path, p, h->be))) return st;
        if ((st = h->be->frame_spec(h->spec))) return st;
        set_out(out, registry().add(Kind::Vlm, h));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_vlm_frame_spec(hs_vlm *vlm, hs_frame_spec_t *out) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<VlmH>(vlm, Kind::Vlm, st);
        if (!h) return st;
        if (!out) return bad_arg("out is NULL");
        *out = h->spec;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_vlm_generation_defaults(hs_vlm *vlm, hs_gen_params_t *out) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<VlmH>(vlm, Kind::Vlm, st);
        if (!h) return st;
        if (!out) return bad_arg("out is NULL");
        hs_gen_params_t p = hs_gen_default_params();
        if ((st = h->be->generation_defaults(p))) return st;
        *out = p;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_vlm_context_info(hs_vlm *vlm, uint32_t *max_context, uint32_t *used_context) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<VlmH>(vlm, Kind::Vlm, st);
        if (!h) return st;
        if (!max_context || !used_context) return bad_arg("max_context/used_context is NULL");
        uint32_t m = 0, u = 0;
        if ((st = h->be->context_info(m, u))) return st;
        *max_context = m;
        *used_context = u;
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_vlm_generate_start(hs_vlm *vlm, const hs_gen_params_t *params, const char *messages_json,
                                     const void *const *frames, const size_t *frame_sizes, uint32_t n_frames,
                                     hs_completion **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        int st = 0;
        auto h = lookup<VlmH>(vlm, Kind::Vlm, st);
        if (!h) return st;
        if (!messages_json) return bad_arg("messages_json is NULL");
        if ((st = check_gen_params(params))) return st;
        std::vector<std::string> msgs;
        if ((st = split_json_array(messages_json, "messages_json", false, false, msgs))) return st;
        if (n_frames && (!frames || !frame_sizes)) return bad_arg("frames/frame_sizes is NULL");
        std::vector<const uint8_t *> fr(n_frames);
        for (uint32_t i = 0; i < n_frames; ++i) {
            if (!frames[i]) return bad_arg("frame " + std::to_string(i) + " is NULL");
            if (frame_sizes[i] != h->spec.frame_size)
                return bad_arg("frame " + std::to_string(i) + " is " + std::to_string(frame_sizes[i]) +
                               " bytes, the model wants " + std::to_string(h->spec.frame_size));
            fr[i] = static_cast<const uint8_t *>(frames[i]);
        }
        return start_completion(
            h->owner, h,
            [&](std::unique_ptr<Completion> &c) {
                return h->be->generate(params, msgs, fr, static_cast<size_t>(h->spec.frame_size), c);
            },
            out);
    });
}

HS_API int32_t hs_vlm_clear_context(hs_vlm *vlm) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<VlmH>(vlm, Kind::Vlm, st);
        if (!h) return st;
        std::lock_guard<std::mutex> lock(h->owner->mu);
        if (h->owner->completion_alive)
            return fail(HS_STATUS_INVALID_OPERATION, "cannot clear the context while a completion is alive");
        return h->be->clear_context();
    });
}

HS_API int32_t hs_vlm_destroy(hs_vlm *vlm) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = take<VlmH>(vlm, Kind::Vlm, st);
        return st;
    });
}

// ==================================================================== Speech2Text
HS_API int32_t hs_s2t_create(hs_vdevice *vdev, const char *hef_path, hs_s2t **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        int st = 0;
        auto vd = lookup<VDeviceH>(vdev, Kind::VDevice, st);
        if (!vd) return st;
        if ((st = check_path(hef_path))) return st;
        auto h = std::make_shared<S2tH>();
        if ((st = vd->be->create_s2t(vd->be, hef_path, h->be))) return st;
        set_out(out, registry().add(Kind::S2t, h));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_s2t_transcribe(hs_s2t *s2t, const float *pcm, size_t n_samples, const hs_s2t_params_t *params,
                                 hs_segments **out) {
    return guarded(__func__, [&]() -> int {
        if (!out) return bad_arg("out is NULL");
        *out = nullptr;
        int st = 0;
        auto h = lookup<S2tH>(s2t, Kind::S2t, st);
        if (!h) return st;
        if (!pcm || n_samples == 0) return bad_arg("pcm is NULL or n_samples is 0");
        hs_s2t_params_t p = params ? *params : hs_s2t_default_params();
        if (p.task != HS_S2T_TASK_TRANSCRIBE && p.task != HS_S2T_TASK_TRANSLATE)
            return bad_arg("task must be HS_S2T_TASK_TRANSCRIBE or HS_S2T_TASK_TRANSLATE");
        if (!cstr_fits(p.language, sizeof p.language)) return bad_arg("language is not NUL-terminated");
        size_t ll = std::strlen(p.language);
        if (ll != 0 && (ll < 2 || ll > 3)) return bad_arg("language must be \"\" (auto) or an ISO-639-1 code like \"en\"");
        for (size_t i = 0; i < ll; ++i)
            if (p.language[i] < 'a' || p.language[i] > 'z')
                return bad_arg("language must be lower-case letters, e.g. \"en\"");
        auto segs = std::make_shared<SegmentsH>();
        if ((st = h->be->transcribe(pcm, n_samples, p, segs->segs))) return st;
        for (auto &s : segs->segs) utf8::sanitize(s.text, true);
        set_out(out, registry().add(Kind::Segments, segs));
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_s2t_destroy(hs_s2t *s2t) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = take<S2tH>(s2t, Kind::S2t, st);
        return st;
    });
}

HS_API int32_t hs_segments_count(hs_segments *segs, uint32_t *count) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<SegmentsH>(segs, Kind::Segments, st);
        if (!h) return st;
        if (!count) return bad_arg("count is NULL");
        *count = static_cast<uint32_t>(h->segs.size());
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_segment_get(hs_segments *segs, uint32_t index, float *start_sec, float *end_sec, const char **text,
                              size_t *text_len) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = lookup<SegmentsH>(segs, Kind::Segments, st);
        if (!h) return st;
        if (index >= h->segs.size())
            return bad_arg("segment index " + std::to_string(index) + " out of range (count " +
                           std::to_string(h->segs.size()) + ")");
        const Segment &s = h->segs[index];
        if (start_sec) *start_sec = s.start_sec;
        if (end_sec) *end_sec = s.end_sec;
        if (text) *text = s.text.c_str();
        if (text_len) *text_len = s.text.size();
        return HS_STATUS_SUCCESS;
    });
}

HS_API int32_t hs_segments_free(hs_segments *segs) {
    return guarded(__func__, [&]() -> int {
        int st = 0;
        auto h = take<SegmentsH>(segs, Kind::Segments, st);
        return st;
    });
}

// ==================================================================== fake control
HS_API int32_t hs_fake_set_fault(const char *faults) {
    return guarded(__func__, [&]() -> int {
        Backend *be = nullptr;
        if (int st = get_backend(be)) return st;
        return be->set_fault(faults);
    });
}

}  // extern "C"
