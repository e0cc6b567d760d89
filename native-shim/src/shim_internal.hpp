// Internal C++ interface between the C surface (shim_api.cpp) and the backends.
// Nothing here is exported; only the hs_* functions in hailo_shim.h are.
#pragma once

#include "hailo_shim.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hs {

// ------------------------------------------------------------------ errors
// Records `message` as this thread's last error (prefixed by the current API
// function name) and returns `status`, so backends can write `return fail(...)`.
int fail(int status, const std::string &message);
// Name of a status (HailoRT or shim-local).
const char *status_name(int status);
// Default timeout applied for HS_TIMEOUT_DEFAULT.
constexpr uint32_t kDefaultTimeoutMs = 10000;
inline uint32_t resolve_timeout(uint32_t t) { return t == HS_TIMEOUT_DEFAULT ? kDefaultTimeoutMs : t; }

// ------------------------------------------------------------------ backend interface
// All methods return a status (0 = ok) and call fail() with a message on error.

struct Segment {
    float start_sec = 0.f;
    float end_sec = 0.f;
    std::string text;
};

class Completion {
public:
    virtual ~Completion() = default;
    // Blocks up to timeout_ms (HS_TIMEOUT_INFINITE = forever) for the next piece of text.
    // On success sets `piece` (raw bytes, may be incomplete UTF-8 or empty) and
    // `gen_status` (HS_GEN_*). After a final status it is never called again.
    virtual int read(std::string &piece, int &gen_status, uint32_t timeout_ms) = 0;
    // Requests an abort; must be safe while another thread is inside read().
    virtual int abort() = 0;
};

class Llm {
public:
    virtual ~Llm() = default;
    virtual int generation_defaults(hs_gen_params_t &out) = 0;
    virtual int context_info(uint32_t &max_ctx, uint32_t &used_ctx) = 0;
    virtual int prompt_template(std::string &out) = 0;
    virtual int tokenize(const std::string &text, std::vector<int32_t> &ids) = 0;
    virtual int set_stop_tokens(const std::vector<std::string> &tokens) = 0;
    virtual int get_stop_tokens(std::vector<std::string> &tokens) = 0;
    // Exactly one of raw_prompt / messages is non-null. messages/tools are JSON
    // strings, one element each (already validated as JSON objects by the core).
    virtual int generate(const hs_gen_params_t *params, const std::string *raw_prompt,
                         const std::vector<std::string> *messages, const std::vector<std::string> &tools,
                         std::unique_ptr<Completion> &out) = 0;
    virtual int clear_context() = 0;
};

class Vlm {
public:
    virtual ~Vlm() = default;
    virtual int frame_spec(hs_frame_spec_t &out) = 0;
    virtual int generation_defaults(hs_gen_params_t &out) = 0;
    virtual int context_info(uint32_t &max_ctx, uint32_t &used_ctx) = 0;
    // Frames are already size-checked by the core against frame_spec().
    virtual int generate(const hs_gen_params_t *params, const std::vector<std::string> &messages,
                         const std::vector<const uint8_t *> &frames, size_t frame_size,
                         std::unique_ptr<Completion> &out) = 0;
    virtual int clear_context() = 0;
};

class S2t {
public:
    virtual ~S2t() = default;
    virtual int transcribe(const float *pcm, size_t n_samples, const hs_s2t_params_t &params,
                           std::vector<Segment> &out) = 0;
};

class Model {
public:
    virtual ~Model() = default;
    virtual uint32_t input_count() const = 0;
    virtual uint32_t output_count() const = 0;
    virtual int io_info(bool is_output, uint32_t index, hs_io_info_t &out) = 0;
    virtual int quant_infos(bool is_output, uint32_t index, std::vector<hs_quant_t> &out) = 0;
    // Buffer counts and sizes are already checked by the core against io_info().
    virtual int infer(const std::vector<const void *> &inputs, const std::vector<void *> &outputs,
                      uint32_t timeout_ms) = 0;
};

class VDevice {
public:
    virtual ~VDevice() = default;
    // `self` is the shared_ptr owning this object, so children can keep it alive.
    virtual int load_model(const std::shared_ptr<VDevice> &self, const std::string &hef,
                           const hs_model_params_t &params, std::shared_ptr<Model> &out) = 0;
    virtual int create_llm(const std::shared_ptr<VDevice> &self, const std::string &hef,
                           const hs_genai_params_t &params, std::shared_ptr<Llm> &out) = 0;
    virtual int create_vlm(const std::shared_ptr<VDevice> &self, const std::string &hef,
                           const hs_genai_params_t &params, std::shared_ptr<Vlm> &out) = 0;
    virtual int create_s2t(const std::shared_ptr<VDevice> &self, const std::string &hef,
                           std::shared_ptr<S2t> &out) = 0;
};

class Device {
public:
    virtual ~Device() = default;
    virtual int identify(hs_identity_t &out) = 0;
    virtual int temperature(hs_temperature_t &out) = 0;
    virtual int health(hs_health_t &out) = 0;
    virtual int power(float &watts) = 0;
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual const char *name() const = 0;
    virtual int runtime_version(hs_version_t &runtime, hs_version_t &built) = 0;
    virtual int scan(std::vector<std::string> &ids) = 0;
    virtual int open_device(const std::string &id, std::shared_ptr<Device> &out) = 0;
    virtual int open_vdevice(const std::string &group_id, std::shared_ptr<VDevice> &out) = 0;
    virtual int set_fault(const char *faults) {
        (void)faults;
        return fail(HS_STATUS_NOT_SUPPORTED, "fault injection exists only in the fake backend");
    }
};

// Backend factories. make_hailort_backend() exists only when built with HailoRT.
std::unique_ptr<Backend> make_fake_backend();
#if defined(HS_HAVE_HAILORT)
std::unique_ptr<Backend> make_hailort_backend();
#endif

// ------------------------------------------------------------------ small helpers
// Copies src into a fixed char array, truncating and always NUL-terminating.
template <size_t N>
inline void copy_cstr(char (&dst)[N], const std::string &src) {
    size_t n = src.size() < N - 1 ? src.size() : N - 1;
    for (size_t i = 0; i < n; ++i) dst[i] = src[i];
    for (size_t i = n; i < N; ++i) dst[i] = '\0';
}

}  // namespace hs
