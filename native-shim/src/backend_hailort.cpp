// Real backend over the HailoRT 5.x C++ API (InferModel + GenAI), for Hailo-10H.
//
// Compiled only when CMake finds HailoRT >= 5.1.1 (HS_HAVE_HAILORT). It cannot be
// built or run without the HailoRT headers/library and a device, so it is kept
// small: every HailoRT status is passed through unchanged, and all argument and
// size validation lives in shim_api.cpp (shared with the fake backend).
#include "shim_internal.hpp"

#include <hailo/hailort.h>
#include <hailo/device.hpp>
#include <hailo/expected.hpp>
#include <hailo/infer_model.hpp>
#include <hailo/vdevice.hpp>
#include <hailo/genai/llm/llm.hpp>
#include <hailo/genai/vlm/vlm.hpp>
#include <hailo/genai/speech2text/speech2text.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>

// Build-time HailoRT version: HailoRT's CMake package exports these macros; fall
// back to the version CMake found.
#if defined(HAILORT_MAJOR_VERSION) && defined(HAILORT_MINOR_VERSION) && defined(HAILORT_REVISION_VERSION)
#define HS_BUILT_MAJOR HAILORT_MAJOR_VERSION
#define HS_BUILT_MINOR HAILORT_MINOR_VERSION
#define HS_BUILT_REVISION HAILORT_REVISION_VERSION
#else
#define HS_BUILT_MAJOR HS_HRT_MAJOR
#define HS_BUILT_MINOR HS_HRT_MINOR
#define HS_BUILT_REVISION HS_HRT_REVISION
#endif
#define HS_HRT_AT_LEAST(maj, min) ((HS_BUILT_MAJOR > (maj)) || (HS_BUILT_MAJOR == (maj) && HS_BUILT_MINOR >= (min)))

// 5.1.1 is the oldest release with everything used here (Speech2Text came in 5.1.0,
// the LLM/VLM context-usage calls in 5.1.1).
#if !(HS_HRT_AT_LEAST(5, 2) || (HS_BUILT_MAJOR == 5 && HS_BUILT_MINOR == 1 && HS_BUILT_REVISION >= 1))
#error "libhailo_shim needs HailoRT 5.1.1 or newer"
#endif

namespace hs {
namespace {

namespace hrt = hailort;
namespace genai = hailort::genai;
using std::chrono::milliseconds;

int hrt_fail(hailo_status st, const std::string &what, const std::string &hint = "") {
    return fail(static_cast<int>(st), what + " failed" + (hint.empty() ? "" : " (" + hint + ")"));
}

milliseconds to_ms(uint32_t timeout_ms) {
    return milliseconds(timeout_ms == HS_TIMEOUT_INFINITE ? HAILO_INFINITE : timeout_ms);
}

std::string arch_name(hailo_device_architecture_t a) {
    switch (a) {
    case HAILO_ARCH_HAILO8_A0: return "HAILO8_A0";
    case HAILO_ARCH_HAILO8: return "HAILO8";
    case HAILO_ARCH_HAILO8L: return "HAILO8L";
    case HAILO_ARCH_HAILO15H: return "HAILO15H";
    case HAILO_ARCH_HAILO15L: return "HAILO15L";
    case HAILO_ARCH_HAILO15M: return "HAILO15M";
    case HAILO_ARCH_HAILO10H: return "HAILO10H";
    default: return "UNKNOWN(" + std::to_string(static_cast<int>(a)) + ")";
    }
}

template <size_t N>
std::string fixed_str(const char (&arr)[N], size_t len) {
    return std::string(arr, std::min(len, N));
}

uint32_t clamp_u32(size_t v) {
    return v > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(v);
}

// ------------------------------------------------------------------ device
class RealDevice : public Device {
public:
    std::unique_ptr<hrt::Device> dev;

    int identify(hs_identity_t &out) override {
        auto id = dev->identify();
        if (!id) return hrt_fail(id.status(), "Device::identify");
        const hailo_device_identity_t &v = id.value();
        out.protocol_version = v.protocol_version;
        out.fw_major = v.fw_version.major;
        out.fw_minor = v.fw_version.minor;
        out.fw_revision = v.fw_version.revision;
        out.logger_version = v.logger_version;
        out.architecture = static_cast<int32_t>(v.device_architecture);
        out.is_release = v.is_release ? 1 : 0;
        copy_cstr(out.device_id, dev->get_dev_id());
        copy_cstr(out.arch_name, arch_name(v.device_architecture));
        copy_cstr(out.board_name, fixed_str(v.board_name, v.board_name_length));
        copy_cstr(out.serial_number, fixed_str(v.serial_number, v.serial_number_length));
        copy_cstr(out.part_number, fixed_str(v.part_number, v.part_number_length));
        copy_cstr(out.product_name, fixed_str(v.product_name, v.product_name_length));
        return HS_STATUS_SUCCESS;
    }

    int temperature(hs_temperature_t &out) override {
        auto t = dev->get_chip_temperature();
        if (!t) return hrt_fail(t.status(), "Device::get_chip_temperature");
        out.ts0_celsius = t->ts0_temperature;
        out.ts1_celsius = t->ts1_temperature;
        out.sample_count = t->sample_count;
        return HS_STATUS_SUCCESS;
    }

    int health(hs_health_t &out) override {
        out.health_valid = 0;
        out.perf_valid = 0;
        out.on_die_temperature_celsius = -1.f;
        out.on_die_voltage_mv = -1;
        out.bist_failure_mask = -1;
        out.cpu_utilization_percent = -1.f;
        out.nnc_utilization_percent = -1.f;
        out.dsp_utilization_percent = -1;
        out.ram_total_kib = 0;
        out.ram_used_kib = 0;
        auto is_unsupported = [](hailo_status s) { return s == HAILO_NOT_SUPPORTED || s == HAILO_NOT_IMPLEMENTED; };
        auto h = dev->query_health_stats();
        if (h) {
            out.health_valid = 1;
            out.on_die_temperature_celsius = h->on_die_temperature;
            out.on_die_voltage_mv = h->on_die_voltage;
            out.bist_failure_mask = h->bist_failure_mask;
        } else if (!is_unsupported(h.status())) {
            return hrt_fail(h.status(), "Device::query_health_stats");
        }
        auto p = dev->query_performance_stats();
        if (p) {
            out.perf_valid = 1;
            out.cpu_utilization_percent = p->cpu_utilization;
            out.nnc_utilization_percent = p->nnc_utilization;
            out.dsp_utilization_percent = p->dsp_utilization;
            out.ram_total_kib = p->ram_size_total < 0 ? 0 : static_cast<uint64_t>(p->ram_size_total);
            out.ram_used_kib = p->ram_size_used < 0 ? 0 : static_cast<uint64_t>(p->ram_size_used);
        } else if (!is_unsupported(p.status())) {
            return hrt_fail(p.status(), "Device::query_performance_stats");
        }
        if (!out.health_valid && !out.perf_valid)
            return fail(HS_STATUS_NOT_SUPPORTED, "the device reports neither health nor performance statistics");
        return HS_STATUS_SUCCESS;
    }

    int power(float &watts) override {
        auto caps = dev->get_capabilities();
        if (!caps) return hrt_fail(caps.status(), "Device::get_capabilities");
        if (!caps->power_measurements)
            return fail(HS_STATUS_NOT_SUPPORTED, "this board has no power sensor");
        auto w = dev->power_measurement(HAILO_DVM_OPTIONS_AUTO, HAILO_POWER_MEASUREMENT_TYPES__POWER);
        if (!w) return hrt_fail(w.status(), "Device::power_measurement");
        watts = w.value();
        return HS_STATUS_SUCCESS;
    }
};

// ------------------------------------------------------------------ vision
void fill_info(const hrt::InferModel::InferStream &s, hs_io_info_t &info, std::vector<hs_quant_t> &quant) {
    copy_cstr(info.name, s.name());
    const hailo_3d_image_shape_t shape = s.shape();
    info.height = shape.height;
    info.width = shape.width;
    info.features = shape.features;
    const hailo_format_t fmt = s.format();
    info.format_type = static_cast<int32_t>(fmt.type);
    info.format_order = static_cast<int32_t>(fmt.order);
    info.frame_size = s.get_frame_size();
    info.is_nms = s.is_nms() ? 1 : 0;
    if (info.is_nms) {
        auto nms = s.get_nms_shape();
        if (nms) {
            info.nms_number_of_classes = nms->number_of_classes;
            info.nms_max_bboxes_per_class = nms->max_bboxes_per_class;
            info.nms_max_bboxes_total = nms->max_bboxes_total;
            info.nms_max_accumulated_mask_size = nms->max_accumulated_mask_size;
        }
    }
    quant.clear();
    for (const hailo_quant_info_t &q : s.get_quant_infos())
        quant.push_back(hs_quant_t{q.qp_scale, q.qp_zp, q.limvals_min, q.limvals_max});
    info.quant_count = static_cast<uint32_t>(quant.size());
    if (!quant.empty()) {
        info.qp_scale = quant[0].qp_scale;
        info.qp_zp = quant[0].qp_zp;
        info.limvals_min = quant[0].limvals_min;
        info.limvals_max = quant[0].limvals_max;
    }
}

class RealModel : public Model {
public:
    std::shared_ptr<VDevice> parent;  // keeps the VDevice alive while the model exists
    std::shared_ptr<hrt::InferModel> im;
    hrt::ConfiguredInferModel cim;
    bool configured = false;
    std::vector<std::string> in_names, out_names;
    std::vector<hs_io_info_t> in_info, out_info;
    std::vector<std::vector<hs_quant_t>> in_quant, out_quant;
    std::mutex mu;

    ~RealModel() override {
        if (configured) (void)cim.shutdown();
    }

    uint32_t input_count() const override { return static_cast<uint32_t>(in_names.size()); }
    uint32_t output_count() const override { return static_cast<uint32_t>(out_names.size()); }

    int io_info(bool is_output, uint32_t index, hs_io_info_t &out) override {
        const auto &v = is_output ? out_info : in_info;
        if (index >= v.size()) return fail(HS_STATUS_INVALID_ARGUMENT, "stream index out of range");
        out = v[index];
        return HS_STATUS_SUCCESS;
    }

    int quant_infos(bool is_output, uint32_t index, std::vector<hs_quant_t> &out) override {
        const auto &v = is_output ? out_quant : in_quant;
        if (index >= v.size()) return fail(HS_STATUS_INVALID_ARGUMENT, "stream index out of range");
        out = v[index];
        return HS_STATUS_SUCCESS;
    }

    int infer(const std::vector<const void *> &inputs, const std::vector<void *> &outputs,
              uint32_t timeout_ms) override {
        std::lock_guard<std::mutex> lock(mu);
        auto bindings = cim.create_bindings();
        if (!bindings) return hrt_fail(bindings.status(), "ConfiguredInferModel::create_bindings");
        for (size_t i = 0; i < in_names.size(); ++i) {
            auto s = bindings->input(in_names[i]);
            if (!s) return hrt_fail(s.status(), "Bindings::input('" + in_names[i] + "')");
            hailo_status st = s->set_buffer(
                hrt::MemoryView(const_cast<void *>(inputs[i]), static_cast<size_t>(in_info[i].frame_size)));
            if (st != HAILO_SUCCESS) return hrt_fail(st, "set_buffer(input '" + in_names[i] + "')");
        }
        for (size_t i = 0; i < out_names.size(); ++i) {
            auto s = bindings->output(out_names[i]);
            if (!s) return hrt_fail(s.status(), "Bindings::output('" + out_names[i] + "')");
            hailo_status st = s->set_buffer(hrt::MemoryView(outputs[i], static_cast<size_t>(out_info[i].frame_size)));
            if (st != HAILO_SUCCESS) return hrt_fail(st, "set_buffer(output '" + out_names[i] + "')");
        }
        hailo_status st = cim.run(bindings.value(), to_ms(timeout_ms));
        if (st != HAILO_SUCCESS) return hrt_fail(st, "ConfiguredInferModel::run");
        return HS_STATUS_SUCCESS;
    }
};

// ------------------------------------------------------------------ GenAI

int to_gen_status(genai::LLMGeneratorCompletion::Status s) {
    switch (s) {
    case genai::LLMGeneratorCompletion::Status::GENERATING: return HS_GEN_GENERATING;
    case genai::LLMGeneratorCompletion::Status::MAX_TOKENS_REACHED: return HS_GEN_MAX_TOKENS_REACHED;
    case genai::LLMGeneratorCompletion::Status::LOGICAL_END_OF_GENERATION: return HS_GEN_LOGICAL_END;
    case genai::LLMGeneratorCompletion::Status::ABORTED: return HS_GEN_ABORTED;
    default: return HS_GEN_LOGICAL_END;
    }
}

void read_defaults(const genai::LLMGeneratorParams &p, hs_gen_params_t &out) {
    out.temperature = p.temperature();
    out.top_p = p.top_p();
    out.top_k = p.top_k();
    out.frequency_penalty = p.frequency_penalty();
    out.max_generated_tokens = p.max_generated_tokens();
    out.do_sample = p.do_sample() ? 1 : 0;
    out.use_seed = 1;
    out.seed = p.seed();
}

// Applies the "set" fields of `in` on top of the model defaults in `p`.
int apply_params(const hs_gen_params_t *in, genai::LLMGeneratorParams &p) {
    if (!in) return HS_STATUS_SUCCESS;
    hailo_status st = HAILO_SUCCESS;
    if (!std::isnan(in->temperature) && (st = p.set_temperature(in->temperature)) != HAILO_SUCCESS)
        return hrt_fail(st, "LLMGeneratorParams::set_temperature");
    if (!std::isnan(in->top_p) && (st = p.set_top_p(in->top_p)) != HAILO_SUCCESS)
        return hrt_fail(st, "LLMGeneratorParams::set_top_p");
    if (in->top_k != 0 && (st = p.set_top_k(in->top_k)) != HAILO_SUCCESS)
        return hrt_fail(st, "LLMGeneratorParams::set_top_k");
    if (!std::isnan(in->frequency_penalty) && (st = p.set_frequency_penalty(in->frequency_penalty)) != HAILO_SUCCESS)
        return hrt_fail(st, "LLMGeneratorParams::set_frequency_penalty");
    if (in->max_generated_tokens != 0 && (st = p.set_max_generated_tokens(in->max_generated_tokens)) != HAILO_SUCCESS)
        return hrt_fail(st, "LLMGeneratorParams::set_max_generated_tokens");
    if (in->do_sample >= 0 && (st = p.set_do_sample(in->do_sample == 1)) != HAILO_SUCCESS)
        return hrt_fail(st, "LLMGeneratorParams::set_do_sample");
    if (in->use_seed == 1 && (st = p.set_seed(in->seed)) != HAILO_SUCCESS)
        return hrt_fail(st, "LLMGeneratorParams::set_seed");
    return HS_STATUS_SUCCESS;
}

class RealCompletion : public Completion {
public:
    std::vector<std::vector<uint8_t>> frames;        // VLM input copies (destroyed last)
    std::unique_ptr<genai::LLMGenerator> generator;  // LLM generator (kept while generating)
    std::unique_ptr<genai::LLMGeneratorCompletion> c;
    std::atomic<bool> abort_requested{false};

    ~RealCompletion() override {
        // After an abort the device streams a short recovery sequence into the
        // client queue; consume it so that ~LLMGeneratorCompletion does not see a
        // "still generating" completion and send a second abort. (No reader can be
        // active here: the core keeps the object alive while a read is running.)
        if (c && abort_requested.load()) {
            for (int i = 0; i < 4096 && c->generation_status() == genai::LLMGeneratorCompletion::Status::GENERATING; ++i)
                if (!c->read(milliseconds(2000))) break;
        }
        c.reset();  // HailoRT aborts a still-running (never aborted) generation here
        generator.reset();
    }

    int read(std::string &piece, int &gen_status, uint32_t timeout_ms) override {
        const bool infinite = timeout_ms == HS_TIMEOUT_INFINITE;
        const auto deadline = std::chrono::steady_clock::now() + milliseconds(infinite ? 0 : timeout_ms);
        while (true) {
            uint32_t t = timeout_ms;
            if (!infinite) {
                auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now()).count();
                if (left <= 0) return fail(HS_STATUS_TIMEOUT, "no token within " + std::to_string(timeout_ms) + " ms");
                t = static_cast<uint32_t>(left);
            }
            auto r = c->read(to_ms(t));
            if (!r) {
                if (abort_requested.load()) {  // the abort explains the failure
                    gen_status = HS_GEN_ABORTED;
                    piece.clear();
                    return HS_STATUS_SUCCESS;
                }
                return hrt_fail(r.status(), "LLMGeneratorCompletion::read");
            }
            int gs = to_gen_status(c->generation_status());
            if (abort_requested.load()) {
                // After an abort the device streams a recovery sequence; drop it.
                if (gs == HS_GEN_GENERATING) continue;
                gen_status = HS_GEN_ABORTED;
                piece.clear();
                return HS_STATUS_SUCCESS;
            }
            piece = r.release();
            gen_status = gs;
            return HS_STATUS_SUCCESS;
        }
    }

    int abort() override {
        if (c->generation_status() != genai::LLMGeneratorCompletion::Status::GENERATING) return HS_STATUS_SUCCESS;
        abort_requested = true;
        hailo_status st = c->abort();  // blocks until the device confirms
        if (st != HAILO_SUCCESS) return hrt_fail(st, "LLMGeneratorCompletion::abort");
        return HS_STATUS_SUCCESS;
    }
};

const char *kKvHint = "only one LLM or VLM can be loaded on the device at a time: another process or handle may hold "
                      "the KV cache";

class RealLlm : public Llm {
public:
    std::shared_ptr<VDevice> parent;
    std::unique_ptr<genai::LLM> llm;
    std::mutex mu;

    int generation_defaults(hs_gen_params_t &out) override {
        std::lock_guard<std::mutex> lock(mu);
        auto p = llm->create_generator_params();
        if (!p) return hrt_fail(p.status(), "LLM::create_generator_params");
        read_defaults(p.value(), out);
        return HS_STATUS_SUCCESS;
    }
    int context_info(uint32_t &max_ctx, uint32_t &used_ctx) override {
        std::lock_guard<std::mutex> lock(mu);
        auto m = llm->max_context_capacity();
        if (!m) return hrt_fail(m.status(), "LLM::max_context_capacity");
        auto u = llm->get_context_usage_size();
        if (!u) return hrt_fail(u.status(), "LLM::get_context_usage_size");
        max_ctx = clamp_u32(m.value());
        used_ctx = clamp_u32(u.value());
        return HS_STATUS_SUCCESS;
    }
    int prompt_template(std::string &out) override {
        std::lock_guard<std::mutex> lock(mu);
        auto t = llm->prompt_template();
        if (!t) return hrt_fail(t.status(), "LLM::prompt_template");
        out = t.release();
        return HS_STATUS_SUCCESS;
    }
    int tokenize(const std::string &text, std::vector<int32_t> &ids) override {
        std::lock_guard<std::mutex> lock(mu);
        auto t = llm->tokenize(text);
        if (!t) return hrt_fail(t.status(), "LLM::tokenize");
        ids.assign(t->begin(), t->end());
        return HS_STATUS_SUCCESS;
    }
    int set_stop_tokens(const std::vector<std::string> &tokens) override {
        std::lock_guard<std::mutex> lock(mu);
        hailo_status st = llm->set_stop_tokens(tokens);
        if (st != HAILO_SUCCESS) return hrt_fail(st, "LLM::set_stop_tokens");
        return HS_STATUS_SUCCESS;
    }
    int get_stop_tokens(std::vector<std::string> &tokens) override {
        std::lock_guard<std::mutex> lock(mu);
        auto t = llm->get_stop_tokens();
        if (!t) return hrt_fail(t.status(), "LLM::get_stop_tokens");
        tokens = t.release();
        return HS_STATUS_SUCCESS;
    }
    int generate(const hs_gen_params_t *params, const std::string *raw, const std::vector<std::string> *messages,
                 const std::vector<std::string> &tools, std::unique_ptr<Completion> &out) override {
        std::lock_guard<std::mutex> lock(mu);
        auto p = llm->create_generator_params();
        if (!p) return hrt_fail(p.status(), "LLM::create_generator_params");
        genai::LLMGeneratorParams gp = p.release();
        if (int st = apply_params(params, gp)) return st;
        auto g = llm->create_generator(gp);
        if (!g) return hrt_fail(g.status(), "LLM::create_generator");
        auto c = std::make_unique<RealCompletion>();
        c->generator = std::make_unique<genai::LLMGenerator>(g.release());
        hailo_status st = HAILO_SUCCESS;
        if (raw) {
            st = c->generator->write(*raw);
        } else {
#if HS_HRT_AT_LEAST(5, 2)
            st = c->generator->write(*messages, tools);
#else
            if (!tools.empty())
                return fail(HS_STATUS_NOT_SUPPORTED, "tools need HailoRT 5.2 or newer (this shim was built for " +
                                                         std::to_string(HS_BUILT_MAJOR) + "." +
                                                         std::to_string(HS_BUILT_MINOR) + ")");
            st = c->generator->write(*messages);
#endif
        }
        if (st != HAILO_SUCCESS) return hrt_fail(st, "LLMGenerator::write");
        auto comp = c->generator->generate();
        if (!comp) return hrt_fail(comp.status(), "LLMGenerator::generate");
        c->c = std::make_unique<genai::LLMGeneratorCompletion>(comp.release());
        out = std::move(c);
        return HS_STATUS_SUCCESS;
    }
    int clear_context() override {
        std::lock_guard<std::mutex> lock(mu);
        hailo_status st = llm->clear_context();
        if (st != HAILO_SUCCESS) return hrt_fail(st, "LLM::clear_context");
        return HS_STATUS_SUCCESS;
    }
};

class RealVlm : public Vlm {
public:
    std::shared_ptr<VDevice> parent;
    std::unique_ptr<genai::VLM> vlm;
    std::mutex mu;

    int frame_spec(hs_frame_spec_t &out) override {
        const hailo_3d_image_shape_t &s = vlm->input_frame_shape();
        out.height = s.height;
        out.width = s.width;
        out.features = s.features;
        out.format_type = static_cast<int32_t>(vlm->input_frame_format_type());
        out.format_order = static_cast<int32_t>(vlm->input_frame_format_order());
        out.frame_size = vlm->input_frame_size();
        return HS_STATUS_SUCCESS;
    }
    int generation_defaults(hs_gen_params_t &out) override {
        std::lock_guard<std::mutex> lock(mu);
        auto p = vlm->create_generator_params();
        if (!p) return hrt_fail(p.status(), "VLM::create_generator_params");
        read_defaults(p.value(), out);
        return HS_STATUS_SUCCESS;
    }
    int context_info(uint32_t &max_ctx, uint32_t &used_ctx) override {
        std::lock_guard<std::mutex> lock(mu);
        auto m = vlm->max_context_capacity();
        if (!m) return hrt_fail(m.status(), "VLM::max_context_capacity");
        auto u = vlm->get_context_usage_size();
        if (!u) return hrt_fail(u.status(), "VLM::get_context_usage_size");
        max_ctx = clamp_u32(m.value());
        used_ctx = clamp_u32(u.value());
        return HS_STATUS_SUCCESS;
    }
    int generate(const hs_gen_params_t *params, const std::vector<std::string> &messages,
                 const std::vector<const uint8_t *> &frames, size_t frame_size,
                 std::unique_ptr<Completion> &out) override {
        std::lock_guard<std::mutex> lock(mu);
        auto p = vlm->create_generator_params();
        if (!p) return hrt_fail(p.status(), "VLM::create_generator_params");
        genai::LLMGeneratorParams gp = p.release();
        if (int st = apply_params(params, gp)) return st;
        auto c = std::make_unique<RealCompletion>();
        std::vector<hrt::MemoryView> views;
        for (const uint8_t *f : frames) {
            c->frames.emplace_back(f, f + frame_size);  // the caller's buffer may go away after this call
            views.emplace_back(c->frames.back().data(), frame_size);
        }
        auto comp = vlm->generate(gp, messages, views);
        if (!comp) return hrt_fail(comp.status(), "VLM::generate");
        c->c = std::make_unique<genai::LLMGeneratorCompletion>(comp.release());
        out = std::move(c);
        return HS_STATUS_SUCCESS;
    }
    int clear_context() override {
        std::lock_guard<std::mutex> lock(mu);
        hailo_status st = vlm->clear_context();
        if (st != HAILO_SUCCESS) return hrt_fail(st, "VLM::clear_context");
        return HS_STATUS_SUCCESS;
    }
};

class RealS2t : public S2t {
public:
    std::shared_ptr<VDevice> parent;
    std::unique_ptr<genai::Speech2Text> s2t;
    std::mutex mu;

    int transcribe(const float *pcm, size_t n, const hs_s2t_params_t &params, std::vector<Segment> &out) override {
        std::lock_guard<std::mutex> lock(mu);
        auto p = s2t->create_generator_params();
        if (!p) return hrt_fail(p.status(), "Speech2Text::create_generator_params");
        genai::Speech2TextGeneratorParams gp = p.release();
        hailo_status st = gp.set_task(params.task == HS_S2T_TASK_TRANSLATE ? genai::Speech2TextTask::TRANSLATE
                                                                           : genai::Speech2TextTask::TRANSCRIBE);
        if (st != HAILO_SUCCESS) return hrt_fail(st, "Speech2TextGeneratorParams::set_task");
        st = gp.set_language(std::string_view(params.language));
        if (st != HAILO_SUCCESS) return hrt_fail(st, "Speech2TextGeneratorParams::set_language");
        if (!std::isnan(params.repetition_penalty) && params.repetition_penalty > 0.f) {
#if HS_HRT_AT_LEAST(5, 2)
            st = gp.set_repetition_penalty(params.repetition_penalty);
            if (st != HAILO_SUCCESS) return hrt_fail(st, "Speech2TextGeneratorParams::set_repetition_penalty");
#else
            return fail(HS_STATUS_NOT_SUPPORTED, "repetition_penalty needs HailoRT 5.2 or newer");
#endif
        }
        auto view = hrt::MemoryView(const_cast<float *>(pcm), n * sizeof(float));
        auto segs = s2t->generate_all_segments(view, gp, to_ms(resolve_timeout(params.timeout_ms)));
        if (!segs) return hrt_fail(segs.status(), "Speech2Text::generate_all_segments");
        for (const auto &s : segs.value()) out.push_back(Segment{s.start_sec, s.end_sec, s.text});
        return HS_STATUS_SUCCESS;
    }
};

// ------------------------------------------------------------------ VDevice
class RealVDevice : public VDevice {
public:
    std::string group;  // hailo_vdevice_params_t keeps a pointer to it
    std::shared_ptr<hrt::VDevice> vdev;

    int load_model(const std::shared_ptr<VDevice> &self, const std::string &hef, const hs_model_params_t &params,
                   std::shared_ptr<Model> &out) override {
        auto m = std::make_shared<RealModel>();
        m->parent = self;
        auto im = vdev->create_infer_model(hef);
        if (!im) return hrt_fail(im.status(), "VDevice::create_infer_model('" + hef + "')");
        m->im = im.release();
        m->im->set_batch_size(static_cast<uint16_t>(params.batch_size));
        for (const auto &s : m->im->inputs()) m->in_names.push_back(s.name());
        for (const auto &s : m->im->outputs()) m->out_names.push_back(s.name());
        for (const auto &name : m->in_names) {
            auto s = m->im->input(name);
            if (!s) return hrt_fail(s.status(), "InferModel::input('" + name + "')");
            if (params.input_format_type != HS_FORMAT_TYPE_AUTO)
                s->set_format_type(static_cast<hailo_format_type_t>(params.input_format_type));
        }
        for (const auto &name : m->out_names) {
            auto s = m->im->output(name);
            if (!s) return hrt_fail(s.status(), "InferModel::output('" + name + "')");
            if (params.output_format_type != HS_FORMAT_TYPE_AUTO)
                s->set_format_type(static_cast<hailo_format_type_t>(params.output_format_type));
            if (s->is_nms()) {
                if (!std::isnan(params.nms_score_threshold)) s->set_nms_score_threshold(params.nms_score_threshold);
                if (!std::isnan(params.nms_iou_threshold)) s->set_nms_iou_threshold(params.nms_iou_threshold);
                if (params.nms_max_proposals_per_class)
                    s->set_nms_max_proposals_per_class(params.nms_max_proposals_per_class);
                if (params.nms_max_proposals_total) s->set_nms_max_proposals_total(params.nms_max_proposals_total);
            }
        }
        auto cim = m->im->configure();
        if (!cim) return hrt_fail(cim.status(), "InferModel::configure");
        m->cim = cim.release();
        m->configured = true;
        hailo_status st = m->cim.set_scheduler_priority(static_cast<uint8_t>(params.scheduler_priority));
        if (st != HAILO_SUCCESS) return hrt_fail(st, "ConfiguredInferModel::set_scheduler_priority");
        if (params.scheduler_threshold) {
            st = m->cim.set_scheduler_threshold(params.scheduler_threshold);
            if (st != HAILO_SUCCESS) return hrt_fail(st, "ConfiguredInferModel::set_scheduler_threshold");
        }
        if (params.scheduler_timeout_ms) {
            st = m->cim.set_scheduler_timeout(milliseconds(params.scheduler_timeout_ms));
            if (st != HAILO_SUCCESS) return hrt_fail(st, "ConfiguredInferModel::set_scheduler_timeout");
        }
        for (const auto &name : m->in_names) {
            auto s = m->im->input(name);
            if (!s) return hrt_fail(s.status(), "InferModel::input('" + name + "')");
            hs_io_info_t info{};
            std::vector<hs_quant_t> q;
            fill_info(s.value(), info, q);
            m->in_info.push_back(info);
            m->in_quant.push_back(q);
        }
        for (const auto &name : m->out_names) {
            auto s = m->im->output(name);
            if (!s) return hrt_fail(s.status(), "InferModel::output('" + name + "')");
            hs_io_info_t info{};
            std::vector<hs_quant_t> q;
            fill_info(s.value(), info, q);
            m->out_info.push_back(info);
            m->out_quant.push_back(q);
        }
        out = m;
        return HS_STATUS_SUCCESS;
    }

    int create_llm(const std::shared_ptr<VDevice> &self, const std::string &hef, const hs_genai_params_t &params,
                   std::shared_ptr<Llm> &out) override {
        auto l = std::make_shared<RealLlm>();
        l->parent = self;
        genai::LLMParams lp(hef, params.lora_name, params.optimize_memory_on_device == 1);
        auto llm = genai::LLM::create(vdev, lp);
        if (!llm)
            return hrt_fail(llm.status(), "LLM::create('" + hef + "')",
                            llm.status() == HAILO_INVALID_OPERATION ? kKvHint : "");
        l->llm = std::make_unique<genai::LLM>(llm.release());
        out = l;
        return HS_STATUS_SUCCESS;
    }

    int create_vlm(const std::shared_ptr<VDevice> &self, const std::string &hef, const hs_genai_params_t &params,
                   std::shared_ptr<Vlm> &out) override {
        auto v = std::make_shared<RealVlm>();
        v->parent = self;
        genai::VLMParams vp(hef, params.optimize_memory_on_device == 1);
        auto vlm = genai::VLM::create(vdev, vp);
        if (!vlm)
            return hrt_fail(vlm.status(), "VLM::create('" + hef + "')",
                            vlm.status() == HAILO_INVALID_OPERATION ? kKvHint : "");
        v->vlm = std::make_unique<genai::VLM>(vlm.release());
        out = v;
        return HS_STATUS_SUCCESS;
    }

    int create_s2t(const std::shared_ptr<VDevice> &self, const std::string &hef, std::shared_ptr<S2t> &out) override {
        auto s = std::make_shared<RealS2t>();
        s->parent = self;
        genai::Speech2TextParams sp(hef);
        auto s2t = genai::Speech2Text::create(vdev, sp);
        if (!s2t) return hrt_fail(s2t.status(), "Speech2Text::create('" + hef + "')");
        s->s2t = std::make_unique<genai::Speech2Text>(s2t.release());
        out = s;
        return HS_STATUS_SUCCESS;
    }
};

// ------------------------------------------------------------------ backend
class HailortBackend : public Backend {
public:
    const char *name() const override { return "hailort"; }

    int runtime_version(hs_version_t &runtime, hs_version_t &built) override {
        hailo_version_t v{};
        hailo_status st = hailo_get_library_version(&v);
        if (st != HAILO_SUCCESS) return hrt_fail(st, "hailo_get_library_version");
        runtime = hs_version_t{v.major, v.minor, v.revision};
        built = hs_version_t{static_cast<uint32_t>(HS_BUILT_MAJOR), static_cast<uint32_t>(HS_BUILT_MINOR),
                             static_cast<uint32_t>(HS_BUILT_REVISION)};
        return HS_STATUS_SUCCESS;
    }

    int scan(std::vector<std::string> &ids) override {
        auto r = hrt::Device::scan();
        if (!r) return hrt_fail(r.status(), "Device::scan");
        ids = r.release();
        return HS_STATUS_SUCCESS;
    }

    int open_device(const std::string &id, std::shared_ptr<Device> &out) override {
        auto d = std::make_shared<RealDevice>();
        auto dev = id.empty() ? hrt::Device::create() : hrt::Device::create(id);
        if (!dev) return hrt_fail(dev.status(), "Device::create('" + id + "')");
        d->dev = dev.release();
        out = d;
        return HS_STATUS_SUCCESS;
    }

    int open_vdevice(const std::string &group_id, std::shared_ptr<VDevice> &out) override {
        auto vd = std::make_shared<RealVDevice>();
        vd->group = group_id;
        hailo_vdevice_params_t params;
        hailo_status st = hailo_init_vdevice_params(&params);  // 1 device, ROUND_ROBIN scheduler
        if (st != HAILO_SUCCESS) return hrt_fail(st, "hailo_init_vdevice_params");
        params.group_id = vd->group.c_str();
        auto v = hrt::VDevice::create_shared(params);
        if (!v)
            return hrt_fail(v.status(), "VDevice::create(group '" + group_id + "')",
                            v.status() == HAILO_OUT_OF_PHYSICAL_DEVICES
                                ? "no free device: none present, or held by a process using another group id or "
                                  "\"UNIQUE\""
                                : "");
        vd->vdev = v.release();
        out = vd;
        return HS_STATUS_SUCCESS;
    }
};

}  // namespace

std::unique_ptr<Backend> make_hailort_backend() { return std::make_unique<HailortBackend>(); }

}  // namespace hs
