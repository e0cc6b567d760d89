// Deterministic fake backend: no hardware, no HailoRT. Models are small JSON files
// (see README "Fake backend"), faults are injected by name, and the device-sharing
// rules (VDevice group ids, the single KV cache) are simulated with flock() on
// files in a state directory so that separate processes see each other.
#include "json.hpp"
#include "shim_internal.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hs {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ------------------------------------------------------------------ faults
enum Fault : uint32_t {
    kNoDevice = 1u << 0,
    kDeviceLost = 1u << 1,
    kKvCacheInUse = 1u << 2,
    kTimeout = 1u << 3,
    kOutOfMemory = 1u << 4,
};

std::atomic<uint32_t> g_faults{0};

bool has_fault(Fault f) { return (g_faults.load() & f) != 0; }

// Parses "a,b c" into a mask; returns false and the bad name on an unknown fault.
bool parse_faults(const std::string &text, uint32_t &mask, std::string &bad) {
    mask = 0;
    std::string cur;
    auto flush = [&]() -> bool {
        if (cur.empty()) return true;
        if (cur == "no_device") mask |= kNoDevice;
        else if (cur == "device_lost") mask |= kDeviceLost;
        else if (cur == "kv_cache_in_use") mask |= kKvCacheInUse;
        else if (cur == "timeout") mask |= kTimeout;
        else if (cur == "out_of_memory") mask |= kOutOfMemory;
        else {
            bad = cur;
            return false;
        }
        cur.clear();
        return true;
    };
    for (char c : text) {
        if (c == ',' || c == ' ' || c == '\t') {
            if (!flush()) return false;
        } else {
            cur += c;
        }
    }
    return flush();
}

// Waits up to `timeout_ms` while the timeout fault is active; returns TIMEOUT if it
// stayed active the whole time, SUCCESS as soon as it is cleared.
int simulate_timeout_fault(uint32_t timeout_ms, const char *what) {
    const bool infinite = timeout_ms == HS_TIMEOUT_INFINITE;
    const auto deadline = Clock::now() + milliseconds(infinite ? 0 : timeout_ms);
    while (has_fault(kTimeout)) {
        if (!infinite && Clock::now() >= deadline)
            return fail(HS_STATUS_TIMEOUT, std::string("fake: ") + what + " timed out after " +
                                               std::to_string(timeout_ms) + " ms (injected fault 'timeout')");
        std::this_thread::sleep_for(milliseconds(5));
    }
    return HS_STATUS_SUCCESS;
}

int device_lost(const char *what) {
    return fail(HS_STATUS_COMMUNICATION_CLOSED,
                std::string("fake: ") + what + ": communication with the device was lost (injected fault 'device_lost')");
}

// ------------------------------------------------------------------ state directory + locks
std::string state_dir() {
    const char *env = std::getenv("HS_FAKE_STATE_DIR");
    if (env && *env) return env;
    return "/tmp/hailo-shim-fake-" + std::to_string(static_cast<unsigned long>(getuid()));
}

int mkdir_p(const std::string &dir) {
    std::string cur;
    for (size_t i = 0; i <= dir.size(); ++i) {
        if (i == dir.size() || dir[i] == '/') {
            if (!cur.empty() && ::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
                return fail(HS_STATUS_INTERNAL_FAILURE, "fake: cannot create state directory '" + cur +
                                                            "': " + std::strerror(errno));
        }
        if (i < dir.size()) cur += dir[i];
    }
    return HS_STATUS_SUCCESS;
}

// An flock() held for the lifetime of the object (released on close).
class FileLock {
public:
    FileLock() = default;
    ~FileLock() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileLock(const FileLock &) = delete;
    FileLock &operator=(const FileLock &) = delete;

    // Returns 0 on success, 1 if the lock is held elsewhere, or a failure status.
    int acquire(const std::string &name, bool exclusive) {
        std::string dir = state_dir();
        if (int st = mkdir_p(dir)) return st;
        std::string path = dir + "/" + name;
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd_ < 0)
            return fail(HS_STATUS_INTERNAL_FAILURE, "fake: cannot open lock file '" + path + "': " + std::strerror(errno));
        while (::flock(fd_, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd_);
            fd_ = -1;
            if (e == EWOULDBLOCK) return 1;
            return fail(HS_STATUS_INTERNAL_FAILURE, "fake: flock('" + path + "') failed: " + std::strerror(e));
        }
        return 0;
    }

private:
    int fd_ = -1;
};

// ------------------------------------------------------------------ fake model files
int read_file(const std::string &path, std::string &out) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return -1;
    std::ostringstream ss;
    ss << f.rdbuf();
    out = ss.str();
    return 0;
}

bool looks_like_json(const std::string &s) {
    size_t i = 0;
    if (s.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return i < s.size() && s[i] == '{';
}

std::string dir_of(const std::string &path) {
    size_t p = path.find_last_of('/');
    return p == std::string::npos ? std::string(".") : path.substr(0, p);
}

// Resolves a "HEF" path for the fake: `path` itself if it is a JSON document,
// otherwise `path + ".fake.json"`. Checks the "kind" member.
int load_fake_model(const std::string &hef, const char *kind, json::Value &doc, std::string &base_dir) {
    std::string text, used = hef;
    bool hef_exists = read_file(hef, text) == 0;
    if (!hef_exists || !looks_like_json(text)) {
        used = hef + ".fake.json";
        if (read_file(used, text) != 0) {
            if (hef_exists)
                return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef +
                                                       "' is not a fake model (JSON) and '" + used + "' does not exist");
            return fail(HS_STATUS_OPEN_FILE_FAILURE, "fake: cannot open '" + hef + "' (nor '" + used + "')");
        }
    }
    std::string err;
    if (!json::parse(text, doc, err)) return fail(HS_STATUS_INVALID_HEF, "fake: '" + used + "': invalid JSON: " + err);
    if (!doc.is_object()) return fail(HS_STATUS_INVALID_HEF, "fake: '" + used + "': top level must be an object");
    std::string k = doc.get_string("kind");
    if (k != kind)
        return fail(HS_STATUS_INVALID_HEF,
                    "fake: '" + used + "' describes a '" + k + "' model, expected '" + kind + "'");
    base_dir = dir_of(used);
    return HS_STATUS_SUCCESS;
}

int format_type_from(const std::string &s, int &out) {
    if (s == "UINT8") out = HS_FORMAT_TYPE_UINT8;
    else if (s == "UINT16") out = HS_FORMAT_TYPE_UINT16;
    else if (s == "FLOAT32") out = HS_FORMAT_TYPE_FLOAT32;
    else return -1;
    return 0;
}

int format_order_from(const std::string &s, int &out) {
    static const struct {
        const char *name;
        int value;
    } kOrders[] = {{"AUTO", HS_FORMAT_ORDER_AUTO},
                   {"NHWC", HS_FORMAT_ORDER_NHWC},
                   {"NHCW", HS_FORMAT_ORDER_NHCW},
                   {"FCR", HS_FORMAT_ORDER_FCR},
                   {"F8CR", HS_FORMAT_ORDER_F8CR},
                   {"NHW", HS_FORMAT_ORDER_NHW},
                   {"NC", HS_FORMAT_ORDER_NC},
                   {"HAILO_NMS", HS_FORMAT_ORDER_HAILO_NMS},
                   {"RGB888", HS_FORMAT_ORDER_RGB888},
                   {"NCHW", HS_FORMAT_ORDER_NCHW},
                   {"YUY2", HS_FORMAT_ORDER_YUY2},
                   {"NV12", HS_FORMAT_ORDER_NV12},
                   {"NV21", HS_FORMAT_ORDER_NV21},
                   {"RGB4", HS_FORMAT_ORDER_RGB4},
                   {"I420", HS_FORMAT_ORDER_I420},
                   {"HAILO_NMS_WITH_BYTE_MASK", HS_FORMAT_ORDER_HAILO_NMS_WITH_BYTE_MASK},
                   {"HAILO_NMS_ON_CHIP", HS_FORMAT_ORDER_HAILO_NMS_ON_CHIP},
                   {"HAILO_NMS_BY_CLASS", HS_FORMAT_ORDER_HAILO_NMS_BY_CLASS},
                   {"HAILO_NMS_BY_SCORE", HS_FORMAT_ORDER_HAILO_NMS_BY_SCORE}};
    for (const auto &o : kOrders)
        if (s == o.name) {
            out = o.value;
            return 0;
        }
    return -1;
}

size_t type_bytes(int t) { return t == HS_FORMAT_TYPE_UINT16 ? 2 : t == HS_FORMAT_TYPE_FLOAT32 ? 4 : 1; }

bool get_u32(const json::Value &o, const char *key, uint32_t def, uint32_t &out) {
    const json::Value *v = o.get(key);
    if (!v) {
        out = def;
        return true;
    }
    if (!v->is_number() || v->number < 0 || v->number > 4294967295.0 || v->number != std::floor(v->number)) return false;
    out = static_cast<uint32_t>(v->number);
    return true;
}

// ------------------------------------------------------------------ device
class FakeDevice : public Device {
public:
    explicit FakeDevice(std::string id) : id_(std::move(id)) {}

    int identify(hs_identity_t &out) override {
        if (has_fault(kDeviceLost)) return device_lost("identify");
        out.protocol_version = 2;
        out.fw_major = 5;
        out.fw_minor = 2;
        out.fw_revision = 0;
        out.logger_version = 0;
        out.architecture = 6;  // HAILO_ARCH_HAILO10H
        out.is_release = 1;
        copy_cstr(out.device_id, id_);
        copy_cstr(out.arch_name, "HAILO10H");
        copy_cstr(out.board_name, "FAKE-HAILO-10H-BOARD");
        copy_cstr(out.serial_number, "FAKE00000001");
        copy_cstr(out.part_number, "FAKE-PN-10H");
        copy_cstr(out.product_name, "FAKE-HAILO-10H");
        return HS_STATUS_SUCCESS;
    }
    int temperature(hs_temperature_t &out) override {
        if (has_fault(kDeviceLost)) return device_lost("temperature");
        out.ts0_celsius = 45.5f;
        out.ts1_celsius = 46.25f;
        out.sample_count = 1;
        return HS_STATUS_SUCCESS;
    }
    int health(hs_health_t &out) override {
        if (has_fault(kDeviceLost)) return device_lost("health");
        out.health_valid = 1;
        out.perf_valid = 1;
        out.on_die_temperature_celsius = 46.0f;
        out.on_die_voltage_mv = 825;
        out.bist_failure_mask = 0;
        out.cpu_utilization_percent = 12.5f;
        out.nnc_utilization_percent = 0.0f;
        out.dsp_utilization_percent = -1;
        out.ram_total_kib = 8ull * 1024 * 1024;
        out.ram_used_kib = 1024ull * 1024;
        return HS_STATUS_SUCCESS;
    }
    int power(float &watts) override {
        (void)watts;
        return fail(HS_STATUS_NOT_SUPPORTED, "fake: the fake device has no power sensor");
    }

private:
    std::string id_;
};

const char kFakeDeviceId[] = "fake-0001:01:00.0";

// ------------------------------------------------------------------ vision model
struct FakeStream {
    hs_io_info_t info{};  // host-side view (after the requested format conversion)
    int native_type = HS_FORMAT_TYPE_UINT8;
    size_t elems = 0;
    std::vector<hs_quant_t> quant;
    std::vector<uint8_t> native;  // canned output frame in the native type
    // "copy_input": {"input": k, "channel": c}: the output is channel c of input k (both UINT8, one element per
    // input pixel), so a test can see which of several inputs a host wrote where.
    int copy_input = -1;
    uint32_t copy_channel = 0;
};

int parse_stream(const json::Value &s, bool is_output, int requested_type, const std::string &base,
                 FakeStream &out, std::string &err) {
    if (!s.is_object()) return err = "stream entry must be an object", -1;
    std::string name = s.get_string("name");
    if (name.empty() || name.size() >= sizeof out.info.name) return err = "stream needs a name (< 128 bytes)", -1;
    copy_cstr(out.info.name, name);
    std::string tname = s.get_string("type", "UINT8");
    if (format_type_from(tname, out.native_type) != 0) return err = "stream '" + name + "': bad type '" + tname + "'", -1;

    const json::Value *nms = s.get("nms");
    out.info.is_nms = nms ? 1 : 0;
    std::string order = s.get_string("order", nms ? "HAILO_NMS_BY_CLASS" : "NHWC");
    if (format_order_from(order, out.info.format_order) != 0) return err = "stream '" + name + "': bad order", -1;

    uint32_t dims[3] = {1, 1, 1};
    const json::Value *shape = s.get("shape");
    if (shape) {
        if (!shape->is_array() || shape->items.empty() || shape->items.size() > 3)
            return err = "stream '" + name + "': shape must be [c], [w,c] or [h,w,c]", -1;
        size_t off = 3 - shape->items.size();
        for (size_t i = 0; i < shape->items.size(); ++i) {
            const json::Value &d = shape->items[i];
            if (!d.is_number() || d.number < 1 || d.number > 1e6 || d.number != std::floor(d.number))
                return err = "stream '" + name + "': bad shape dimension", -1;
            dims[off + i] = static_cast<uint32_t>(d.number);
        }
    } else if (!nms) {
        return err = "stream '" + name + "': missing shape", -1;
    }
    out.info.height = dims[0];
    out.info.width = dims[1];
    out.info.features = dims[2];

    size_t native_frame = 0;
    if (nms) {
        if (out.native_type != HS_FORMAT_TYPE_FLOAT32 && !s.get("type")) out.native_type = HS_FORMAT_TYPE_FLOAT32;
        if (!get_u32(*nms, "classes", 1, out.info.nms_number_of_classes) ||
            !get_u32(*nms, "max_bboxes_per_class", 1, out.info.nms_max_bboxes_per_class) ||
            !get_u32(*nms, "max_bboxes_total", out.info.nms_number_of_classes * out.info.nms_max_bboxes_per_class,
                     out.info.nms_max_bboxes_total) ||
            !get_u32(*nms, "max_accumulated_mask_size", 0, out.info.nms_max_accumulated_mask_size))
            return err = "stream '" + name + "': bad nms block", -1;
        // BY_CLASS host layout: per class a float count + max_bboxes_per_class x 5 floats.
        size_t elems = static_cast<size_t>(out.info.nms_number_of_classes) *
                       (1 + 5 * static_cast<size_t>(out.info.nms_max_bboxes_per_class));
        uint32_t explicit_size = 0;
        if (!get_u32(s, "frame_size", 0, explicit_size)) return err = "stream '" + name + "': bad frame_size", -1;
        native_frame = explicit_size ? explicit_size : elems * type_bytes(out.native_type);
        out.elems = native_frame / type_bytes(out.native_type);
    } else {
        out.elems = static_cast<size_t>(dims[0]) * dims[1] * dims[2];
        native_frame = out.elems * type_bytes(out.native_type);
    }

    // Quantization: one object (per tensor) or an array (per channel).
    const json::Value *q = s.get("quant");
    auto one = [&](const json::Value &o, hs_quant_t &qt) -> bool {
        if (!o.is_object()) return false;
        qt.qp_scale = static_cast<float>(o.get_number("scale", 1.0));
        qt.qp_zp = static_cast<float>(o.get_number("zp", 0.0));
        qt.limvals_min = static_cast<float>(o.get_number("min", 0.0));
        qt.limvals_max = static_cast<float>(o.get_number("max", 0.0));
        return true;
    };
    if (!q) {
        out.quant.push_back(hs_quant_t{1.f, 0.f, 0.f, 0.f});
    } else if (q->is_array()) {
        if (q->items.empty()) return err = "stream '" + name + "': empty quant array", -1;
        for (const auto &e : q->items) {
            hs_quant_t qt{};
            if (!one(e, qt)) return err = "stream '" + name + "': bad quant entry", -1;
            out.quant.push_back(qt);
        }
        if (!nms && out.quant.size() != 1 && out.quant.size() != out.info.features)
            return err = "stream '" + name + "': per-channel quant needs one entry per feature", -1;
    } else {
        hs_quant_t qt{};
        if (!one(*q, qt)) return err = "stream '" + name + "': bad quant", -1;
        out.quant.push_back(qt);
    }
    out.info.quant_count = static_cast<uint32_t>(out.quant.size());
    out.info.qp_scale = out.quant[0].qp_scale;
    out.info.qp_zp = out.quant[0].qp_zp;
    out.info.limvals_min = out.quant[0].limvals_min;
    out.info.limvals_max = out.quant[0].limvals_max;

    // Host type after the requested conversion.
    int host = requested_type == HS_FORMAT_TYPE_AUTO ? out.native_type : requested_type;
    if (nms) host = out.native_type;  // NMS outputs keep their host format
    if (host != out.native_type && host != HS_FORMAT_TYPE_FLOAT32)
        return err = "stream '" + name + "': the fake converts only to FLOAT32", -1;
    out.info.format_type = host;
    out.info.frame_size = nms ? native_frame : out.elems * type_bytes(host);

    if (!is_output) return 0;

    // Canned output contents (native type).
    out.native.assign(native_frame, 0);
    const double fill = s.get_number("fill", 0.0);
    auto store = [&](size_t i, double v) -> bool {
        switch (out.native_type) {
        case HS_FORMAT_TYPE_UINT8:
            if (v < 0 || v > 255 || v != std::floor(v)) return false;
            out.native[i] = static_cast<uint8_t>(v);
            return true;
        case HS_FORMAT_TYPE_UINT16: {
            if (v < 0 || v > 65535 || v != std::floor(v)) return false;
            uint16_t u = static_cast<uint16_t>(v);
            std::memcpy(&out.native[i * 2], &u, 2);
            return true;
        }
        default: {
            float f = static_cast<float>(v);
            std::memcpy(&out.native[i * 4], &f, 4);
            return true;
        }
        }
    };
    if (const json::Value *copy = s.get("copy_input")) {
        uint32_t input = 0;
        if (!copy->is_object() || !get_u32(*copy, "input", 0, input) || !get_u32(*copy, "channel", 0, out.copy_channel) ||
            input > 64 || out.native_type != HS_FORMAT_TYPE_UINT8)
            return err = "stream '" + name + "': copy_input needs {\"input\", \"channel\"} on a UINT8 output", -1;
        out.copy_input = static_cast<int>(input);
        return 0;
    }
    const json::Value *data = s.get("data");
    std::string data_file = s.get_string("data_file");
    std::string pattern = s.get_string("pattern");
    if (!data_file.empty()) {
        std::string path = data_file[0] == '/' ? data_file : base + "/" + data_file;
        std::string bytes;
        if (read_file(path, bytes) != 0) return err = "stream '" + name + "': cannot read data_file '" + path + "'", -1;
        if (bytes.size() != native_frame)
            return err = "stream '" + name + "': data_file has " + std::to_string(bytes.size()) +
                         " bytes, native frame is " + std::to_string(native_frame),
                   -1;
        std::memcpy(out.native.data(), bytes.data(), native_frame);
    } else {
        size_t n = 0;
        if (data) {
            if (!data->is_array()) return err = "stream '" + name + "': data must be an array of numbers", -1;
            if (data->items.size() > out.elems) return err = "stream '" + name + "': more data than elements", -1;
            for (; n < data->items.size(); ++n)
                if (!data->items[n].is_number() || !store(n, data->items[n].number))
                    return err = "stream '" + name + "': data[" + std::to_string(n) + "] does not fit the type", -1;
        }
        for (size_t i = n; i < out.elems; ++i) {
            double v = fill;
            if (pattern == "ramp") v = static_cast<double>(i % (out.native_type == HS_FORMAT_TYPE_UINT8 ? 256 : 65536));
            if (!store(i, v)) return err = "stream '" + name + "': fill does not fit the type", -1;
        }
    }
    return 0;
}

class FakeModel : public Model {
public:
    std::vector<FakeStream> in, out;
    uint32_t delay_ms = 0;
    std::shared_ptr<VDevice> parent;
    std::mutex mu;

    uint32_t input_count() const override { return static_cast<uint32_t>(in.size()); }
    uint32_t output_count() const override { return static_cast<uint32_t>(out.size()); }
    int io_info(bool is_output, uint32_t index, hs_io_info_t &info) override {
        const auto &v = is_output ? out : in;
        if (index >= v.size()) return fail(HS_STATUS_INVALID_ARGUMENT, "stream index out of range");
        info = v[index].info;
        return HS_STATUS_SUCCESS;
    }
    int quant_infos(bool is_output, uint32_t index, std::vector<hs_quant_t> &q) override {
        const auto &v = is_output ? out : in;
        if (index >= v.size()) return fail(HS_STATUS_INVALID_ARGUMENT, "stream index out of range");
        q = v[index].quant;
        return HS_STATUS_SUCCESS;
    }
    int infer(const std::vector<const void *> &inputs, const std::vector<void *> &outputs,
              uint32_t timeout_ms) override {
        std::lock_guard<std::mutex> lock(mu);  // like ConfiguredInferModel::run: one frame at a time
        if (has_fault(kDeviceLost)) return device_lost("infer");
        if (int st = simulate_timeout_fault(timeout_ms, "infer")) return st;
        if (delay_ms) std::this_thread::sleep_for(milliseconds(delay_ms));
        for (size_t o = 0; o < out.size(); ++o) {
            FakeStream &s = out[o];
            if (s.copy_input >= 0) {
                const FakeStream &src = in[static_cast<size_t>(s.copy_input)];
                const auto *pixels = static_cast<const uint8_t *>(inputs[static_cast<size_t>(s.copy_input)]);
                for (size_t i = 0; i < s.elems; ++i) s.native[i] = pixels[i * src.info.features + s.copy_channel];
            }
            if (s.info.format_type == s.native_type) {
                std::memcpy(outputs[o], s.native.data(), s.native.size());
                continue;
            }
            // De-quantize to FLOAT32: x = (q - zp) * scale, channel = index % features.
            float *dst = static_cast<float *>(outputs[o]);
            for (size_t i = 0; i < s.elems; ++i) {
                double qv = 0;
                if (s.native_type == HS_FORMAT_TYPE_UINT8) {
                    qv = s.native[i];
                } else {
                    uint16_t u;
                    std::memcpy(&u, &s.native[i * 2], 2);
                    qv = u;
                }
                const hs_quant_t &qt = s.quant.size() == 1 ? s.quant[0] : s.quant[i % s.quant.size()];
                dst[i] = static_cast<float>((qv - qt.qp_zp) * qt.qp_scale);
            }
        }
        return HS_STATUS_SUCCESS;
    }
};

// ------------------------------------------------------------------ LLM / VLM core
uint32_t fnv1a(const std::string &s) {
    uint32_t h = 2166136261u;
    for (unsigned char c : s) {
        h ^= c;
        h *= 16777619u;
    }
    return h;
}

// Splits text into word tokens, each carrying its leading whitespace (" world").
std::vector<std::string> fake_tokens(const std::string &text) {
    std::vector<std::string> out;
    std::string cur;
    bool in_word = false;
    for (char c : text) {
        bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        if (space && in_word) {
            out.push_back(cur);
            cur.clear();
            in_word = false;
        }
        cur += c;
        if (!space) in_word = true;
    }
    if (in_word) out.push_back(cur);
    return out;
}

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \n\t\r");
    if (b == std::string::npos) return "";
    size_t e = s.find_last_not_of(" \n\t\r");
    return s.substr(b, e - b + 1);
}

struct GenConfig {
    uint32_t context_size = 2048;
    std::string prompt_template;
    uint32_t token_delay_ms = 0;
    std::string end_token;
    bool split_utf8 = false;
    uint32_t vocab_size = 32000;
    uint32_t image_tokens = 64;
    hs_gen_params_t defaults{};
    std::vector<std::string> stop_tokens;
};

int parse_gen_config(const json::Value &doc, GenConfig &c, std::string &err) {
    if (!get_u32(doc, "context_size", 2048, c.context_size) || c.context_size == 0) return err = "bad context_size", -1;
    if (!get_u32(doc, "token_delay_ms", 0, c.token_delay_ms)) return err = "bad token_delay_ms", -1;
    if (!get_u32(doc, "vocab_size", 32000, c.vocab_size) || c.vocab_size < 2) return err = "bad vocab_size", -1;
    if (!get_u32(doc, "image_tokens", 64, c.image_tokens)) return err = "bad image_tokens", -1;
    c.prompt_template = doc.get_string(
        "prompt_template",
        "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
    c.end_token = doc.get_string("end_token", "");
    c.split_utf8 = doc.get_bool("split_utf8", false);
    if (const json::Value *st = doc.get("stop_tokens")) {
        if (!st->is_array()) return err = "stop_tokens must be an array", -1;
        for (const auto &t : st->items) {
            if (!t.is_string()) return err = "stop_tokens must be strings", -1;
            c.stop_tokens.push_back(t.str);
        }
    }
    json::Value empty;
    empty.type = json::Value::Type::Object;
    const json::Value *d = doc.get("defaults");
    if (!d) d = &empty;
    c.defaults.temperature = static_cast<float>(d->get_number("temperature", 0.7));
    c.defaults.top_p = static_cast<float>(d->get_number("top_p", 0.8));
    c.defaults.frequency_penalty = static_cast<float>(d->get_number("frequency_penalty", 1.1));
    if (!get_u32(*d, "top_k", 20, c.defaults.top_k)) return err = "bad defaults.top_k", -1;
    if (!get_u32(*d, "max_generated_tokens", 256, c.defaults.max_generated_tokens) ||
        c.defaults.max_generated_tokens == 0)
        return err = "bad defaults.max_generated_tokens", -1;
    c.defaults.do_sample = d->get_bool("do_sample", true) ? 1 : 0;
    c.defaults.use_seed = 1;
    if (!get_u32(*d, "seed", HS_RANDOM_SEED, c.defaults.seed)) return err = "bad defaults.seed", -1;
    return 0;
}

struct Piece {
    std::string text;
    int status = HS_GEN_GENERATING;
    bool counts = true;  // consumes one token of context
};

// State shared by a fake LLM/VLM and its completions.
class GenCore {
public:
    GenConfig cfg;
    FileLock kv_lock;
    std::mutex mu;
    uint32_t used = 0;

    // Takes one token of context; false if the context is full.
    bool take_token() {
        std::lock_guard<std::mutex> lock(mu);
        if (used >= cfg.context_size) return false;
        ++used;
        return true;
    }
};

class FakeCompletion : public Completion {
public:
    FakeCompletion(std::shared_ptr<GenCore> core, std::vector<Piece> pieces)
        : core_(std::move(core)), pieces_(std::move(pieces)) {
        due_ = Clock::now() + milliseconds(core_->cfg.token_delay_ms);
    }

    int read(std::string &piece, int &gen_status, uint32_t timeout_ms) override {
        std::unique_lock<std::mutex> lock(mu_);
        piece.clear();
        const bool infinite = timeout_ms == HS_TIMEOUT_INFINITE;
        const auto deadline = Clock::now() + milliseconds(infinite ? 0 : timeout_ms);
        while (true) {
            if (aborted_) {
                gen_status = HS_GEN_ABORTED;
                return HS_STATUS_SUCCESS;
            }
            if (has_fault(kDeviceLost)) return device_lost("completion read");
            auto now = Clock::now();
            if (!has_fault(kTimeout) && now >= due_) break;
            if (!infinite && now >= deadline)
                return fail(HS_STATUS_TIMEOUT, std::string("fake: no token within ") + std::to_string(timeout_ms) +
                                                   " ms" + (has_fault(kTimeout) ? " (injected fault 'timeout')" : ""));
            auto wake = now + milliseconds(10);
            if (!has_fault(kTimeout) && due_ < wake) wake = due_;
            if (!infinite && deadline < wake) wake = deadline;
            cv_.wait_until(lock, wake);
        }
        if (next_ >= pieces_.size())
            return fail(HS_STATUS_INVALID_OPERATION, "fake: read() after the generation completed");
        const Piece &p = pieces_[next_];
        if (p.counts && !core_->take_token()) {
            next_ = pieces_.size();
            gen_status = HS_GEN_MAX_TOKENS_REACHED;  // context full: generation stops
            return HS_STATUS_SUCCESS;
        }
        piece = p.text;
        gen_status = p.status;
        ++next_;
        due_ = Clock::now() + milliseconds(core_->cfg.token_delay_ms);
        return HS_STATUS_SUCCESS;
    }

    int abort() override {
        {
            std::lock_guard<std::mutex> lock(mu_);
            aborted_ = true;
        }
        cv_.notify_all();
        return HS_STATUS_SUCCESS;
    }

private:
    std::shared_ptr<GenCore> core_;
    std::vector<Piece> pieces_;
    size_t next_ = 0;
    Clock::time_point due_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool aborted_ = false;
};

// Builds the token pieces of a reply: `prefix_tokens` then the echo of `echo`.
std::vector<Piece> build_pieces(const GenCore &core, const std::vector<std::string> &prefix_tokens,
                                const std::string &echo, const std::vector<std::string> &stops, uint32_t max_tokens) {
    std::vector<std::string> toks = prefix_tokens;
    for (auto &t : fake_tokens(echo)) {
        if (!prefix_tokens.empty() && toks.size() == prefix_tokens.size() && t[0] != ' ') t.insert(0, " ");
        toks.push_back(t);
    }
    if (!core.cfg.end_token.empty()) toks.push_back(core.cfg.end_token);
    std::vector<Piece> out;
    if (toks.empty()) {
        out.push_back(Piece{"", HS_GEN_LOGICAL_END, false});
        return out;
    }
    for (size_t i = 0; i < toks.size(); ++i) {
        int status = HS_GEN_GENERATING;
        const std::string t = trim(toks[i]);
        bool is_stop = std::find(stops.begin(), stops.end(), t) != stops.end();
        if (is_stop || i + 1 == toks.size()) status = HS_GEN_LOGICAL_END;
        else if (i + 1 == max_tokens) status = HS_GEN_MAX_TOKENS_REACHED;
        bool multibyte = std::any_of(toks[i].begin(), toks[i].end(), [](char c) { return (c & 0x80) != 0; });
        if (core.cfg.split_utf8 && multibyte) {
            // Hand the token out one byte at a time: the core must reassemble characters.
            for (size_t b = 0; b < toks[i].size(); ++b) {
                bool last = b + 1 == toks[i].size();
                out.push_back(Piece{toks[i].substr(b, 1), last ? status : HS_GEN_GENERATING, last});
            }
        } else {
            out.push_back(Piece{toks[i], status, true});
        }
        if (status != HS_GEN_GENERATING) break;
    }
    return out;
}

void merge_params(const GenConfig &cfg, const hs_gen_params_t *p, hs_gen_params_t &eff) {
    eff = cfg.defaults;
    if (!p) return;
    if (!std::isnan(p->temperature)) eff.temperature = p->temperature;
    if (!std::isnan(p->top_p)) eff.top_p = p->top_p;
    if (p->top_k) eff.top_k = p->top_k;
    if (!std::isnan(p->frequency_penalty)) eff.frequency_penalty = p->frequency_penalty;
    if (p->max_generated_tokens) eff.max_generated_tokens = p->max_generated_tokens;
    if (p->do_sample >= 0) eff.do_sample = p->do_sample;
    if (p->use_seed) eff.seed = p->seed;
}

// Message text: a string content, or the "text" parts of a content array.
struct ParsedMessage {
    std::string role;
    std::string text;
    uint32_t images = 0;
};

int parse_messages(const std::vector<std::string> &msgs, std::vector<ParsedMessage> &out) {
    for (size_t i = 0; i < msgs.size(); ++i) {
        json::Value m;
        std::string err;
        if (!json::parse(msgs[i], m, err) || !m.is_object())
            return fail(HS_STATUS_INVALID_ARGUMENT, "fake: message " + std::to_string(i) + " is not a JSON object");
        ParsedMessage pm;
        pm.role = m.get_string("role");
        if (pm.role.empty()) return fail(HS_STATUS_INVALID_ARGUMENT, "fake: message " + std::to_string(i) + " has no role");
        const json::Value *c = m.get("content");
        if (c && c->is_string()) {
            pm.text = c->str;
        } else if (c && c->is_array()) {
            for (const auto &part : c->items) {
                std::string type = part.get_string("type");
                if (type == "image") {
                    ++pm.images;
                } else if (type == "text") {
                    if (!pm.text.empty()) pm.text += " ";
                    pm.text += part.get_string("text");
                }
            }
        }
        out.push_back(std::move(pm));
    }
    return HS_STATUS_SUCCESS;
}

// Shared by LLM and VLM generation: context checks and accounting, then pieces.
int start_generation(const std::shared_ptr<GenCore> &core, const hs_gen_params_t *params, const std::string *raw,
                     const std::vector<std::string> *messages, const std::vector<std::string> &tools,
                     const std::vector<std::string> &prefix_tokens, int n_frames, std::unique_ptr<Completion> &out) {
    if (has_fault(kDeviceLost)) return device_lost("generate");
    hs_gen_params_t eff;
    merge_params(core->cfg, params, eff);
    std::string echo;
    size_t prompt_tokens = 0;
    std::lock_guard<std::mutex> lock(core->mu);
    if (raw) {
        echo = *raw;
        prompt_tokens = fake_tokens(*raw).size();
    } else {
        std::vector<ParsedMessage> pm;
        if (int st = parse_messages(*messages, pm)) return st;
        bool has_system = std::any_of(pm.begin(), pm.end(), [](const ParsedMessage &m) { return m.role == "system"; });
        if ((has_system || !tools.empty()) && core->used != 0)
            return fail(HS_STATUS_INVALID_OPERATION,
                        "fake: system messages and tools are accepted only on a fresh context (clear it first)");
        uint32_t images = 0;
        std::string rendered;
        for (const auto &m : pm) {
            rendered += m.role + ": " + m.text + "\n";
            images += m.images;
            if (m.role == "user") echo = m.text;
        }
        if (n_frames >= 0 && images != static_cast<uint32_t>(n_frames))
            return fail(HS_STATUS_INVALID_ARGUMENT, "fake: messages reference " + std::to_string(images) +
                                                        " image(s) but " + std::to_string(n_frames) +
                                                        " frame(s) were given");
        if (n_frames >= 0) prompt_tokens += static_cast<size_t>(images) * core->cfg.image_tokens;
        prompt_tokens += fake_tokens(rendered).size();
        for (const auto &t : tools) prompt_tokens += fake_tokens(t).size();
    }
    if (core->used + prompt_tokens > core->cfg.context_size)
        return fail(HS_STATUS_INVALID_ARGUMENT, "fake: prompt of " + std::to_string(prompt_tokens) +
                                                    " tokens does not fit the context (" + std::to_string(core->used) +
                                                    " of " + std::to_string(core->cfg.context_size) + " used)");
    core->used += static_cast<uint32_t>(prompt_tokens);
    std::vector<std::string> stops = core->cfg.stop_tokens;
    out = std::make_unique<FakeCompletion>(core, build_pieces(*core, prefix_tokens, echo, stops, eff.max_generated_tokens));
    return HS_STATUS_SUCCESS;
}

int acquire_kv_cache(GenCore &core) {
    if (has_fault(kKvCacheInUse))
        return fail(HS_STATUS_INVALID_OPERATION,
                    "fake: KV-Cache is already in use by another model (injected fault 'kv_cache_in_use')");
    int r = core.kv_lock.acquire("kv_cache.lock", true);
    if (r == 1)
        return fail(HS_STATUS_INVALID_OPERATION,
                    "fake: KV-Cache is already in use by another model (an LLM or VLM is loaded in this or another "
                    "process); only one LLM/VLM can be loaded at a time");
    return r;
}

class FakeLlm : public Llm {
public:
    std::shared_ptr<GenCore> core = std::make_shared<GenCore>();
    std::shared_ptr<VDevice> parent;

    int generation_defaults(hs_gen_params_t &out) override {
        out = core->cfg.defaults;
        return HS_STATUS_SUCCESS;
    }
    int context_info(uint32_t &max_ctx, uint32_t &used_ctx) override {
        std::lock_guard<std::mutex> lock(core->mu);
        max_ctx = core->cfg.context_size;
        used_ctx = core->used;
        return HS_STATUS_SUCCESS;
    }
    int prompt_template(std::string &out) override {
        out = core->cfg.prompt_template;
        return HS_STATUS_SUCCESS;
    }
    int tokenize(const std::string &text, std::vector<int32_t> &ids) override {
        ids.clear();
        for (const auto &t : fake_tokens(text))
            ids.push_back(static_cast<int32_t>(1 + fnv1a(t) % (core->cfg.vocab_size - 1)));
        return HS_STATUS_SUCCESS;
    }
    int set_stop_tokens(const std::vector<std::string> &tokens) override {
        std::lock_guard<std::mutex> lock(core->mu);
        core->cfg.stop_tokens = tokens;
        return HS_STATUS_SUCCESS;
    }
    int get_stop_tokens(std::vector<std::string> &tokens) override {
        std::lock_guard<std::mutex> lock(core->mu);
        tokens = core->cfg.stop_tokens;
        return HS_STATUS_SUCCESS;
    }
    int generate(const hs_gen_params_t *params, const std::string *raw, const std::vector<std::string> *messages,
                 const std::vector<std::string> &tools, std::unique_ptr<Completion> &out) override {
        return start_generation(core, params, raw, messages, tools, {}, -1, out);
    }
    int clear_context() override {
        std::lock_guard<std::mutex> lock(core->mu);
        core->used = 0;
        return HS_STATUS_SUCCESS;
    }
};

class FakeVlm : public Vlm {
public:
    std::shared_ptr<GenCore> core = std::make_shared<GenCore>();
    std::shared_ptr<VDevice> parent;
    hs_frame_spec_t spec{};

    int frame_spec(hs_frame_spec_t &out) override {
        out = spec;
        return HS_STATUS_SUCCESS;
    }
    int generation_defaults(hs_gen_params_t &out) override {
        out = core->cfg.defaults;
        return HS_STATUS_SUCCESS;
    }
    int context_info(uint32_t &max_ctx, uint32_t &used_ctx) override {
        std::lock_guard<std::mutex> lock(core->mu);
        max_ctx = core->cfg.context_size;
        used_ctx = core->used;
        return HS_STATUS_SUCCESS;
    }
    int generate(const hs_gen_params_t *params, const std::vector<std::string> &messages,
                 const std::vector<const uint8_t *> &frames, size_t frame_size,
                 std::unique_ptr<Completion> &out) override {
        // One descriptor token per frame proves the pixels were read: "<image0:mean=127>".
        std::vector<std::string> prefix;
        for (size_t k = 0; k < frames.size(); ++k) {
            uint64_t sum = 0;
            for (size_t i = 0; i < frame_size; ++i) sum += frames[k][i];
            uint64_t mean = frame_size ? sum / frame_size : 0;
            prefix.push_back(std::string(k ? " " : "") + "<image" + std::to_string(k) + ":mean=" + std::to_string(mean) + ">");
        }
        std::vector<std::string> no_tools;
        return start_generation(core, params, nullptr, &messages, no_tools, prefix, static_cast<int>(frames.size()),
                                out);
    }
    int clear_context() override {
        std::lock_guard<std::mutex> lock(core->mu);
        core->used = 0;
        return HS_STATUS_SUCCESS;
    }
};

// ------------------------------------------------------------------ Speech2Text
class FakeS2t : public S2t {
public:
    double segment_seconds = 5.0;
    double silence_rms = 0.01;
    std::vector<std::string> texts;
    std::string translate_prefix = "[translated] ";
    uint32_t delay_ms = 0;
    std::shared_ptr<VDevice> parent;

    int transcribe(const float *pcm, size_t n, const hs_s2t_params_t &p, std::vector<Segment> &out) override {
        if (has_fault(kDeviceLost)) return device_lost("transcribe");
        if (int st = simulate_timeout_fault(resolve_timeout(p.timeout_ms), "transcribe")) return st;
        if (delay_ms) std::this_thread::sleep_for(milliseconds(delay_ms));
        const double rate = 16000.0;
        const size_t window = static_cast<size_t>(segment_seconds * rate);
        const double duration = static_cast<double>(n) / rate;
        size_t k = 0;
        for (size_t start = 0; start < n; start += window) {
            size_t end = std::min(n, start + window);
            double sq = 0;
            for (size_t i = start; i < end; ++i) sq += static_cast<double>(pcm[i]) * pcm[i];
            double rms = std::sqrt(sq / static_cast<double>(end - start));
            if (!(rms > silence_rms)) continue;  // silence (or NaN) produces no segment
            Segment s;
            s.start_sec = static_cast<float>(static_cast<double>(start) / rate);
            s.end_sec = static_cast<float>(std::min(duration, static_cast<double>(end) / rate));
            std::string text = texts.empty() ? "fake transcription" : texts[k % texts.size()];
            if (p.task == HS_S2T_TASK_TRANSLATE) text = translate_prefix + text;
            else if (p.language[0] && std::strcmp(p.language, "en") != 0) text = "[" + std::string(p.language) + "] " + text;
            s.text = text;
            out.push_back(std::move(s));
            ++k;
        }
        return HS_STATUS_SUCCESS;
    }
};

// ------------------------------------------------------------------ VDevice
class FakeVDevice : public VDevice {
public:
    std::string group;
    FileLock device_lock;

    int load_model(const std::shared_ptr<VDevice> &self, const std::string &hef, const hs_model_params_t &params,
                   std::shared_ptr<Model> &out) override {
        if (has_fault(kOutOfMemory))
            return fail(HS_STATUS_OUT_OF_FW_MEMORY, "fake: not enough device memory to load '" + hef +
                                                        "' (injected fault 'out_of_memory')");
        json::Value doc;
        std::string base, err;
        if (int st = load_fake_model(hef, "vision", doc, base)) return st;
        auto m = std::make_shared<FakeModel>();
        m->parent = self;
        if (!get_u32(doc, "infer_delay_ms", 0, m->delay_ms)) return fail(HS_STATUS_INVALID_HEF, "fake: bad infer_delay_ms");
        const json::Value *ins = doc.get("inputs");
        const json::Value *outs = doc.get("outputs");
        if (!ins || !ins->is_array() || ins->items.empty() || !outs || !outs->is_array() || outs->items.empty())
            return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef + "': needs non-empty 'inputs' and 'outputs' arrays");
        for (const auto &s : ins->items) {
            FakeStream fs;
            if (parse_stream(s, false, params.input_format_type, base, fs, err) != 0)
                return fail(err.find("converts only") != std::string::npos ? HS_STATUS_INVALID_ARGUMENT
                                                                           : HS_STATUS_INVALID_HEF,
                            "fake: '" + hef + "': " + err);
            m->in.push_back(std::move(fs));
        }
        for (const auto &s : outs->items) {
            FakeStream fs;
            if (parse_stream(s, true, params.output_format_type, base, fs, err) != 0)
                return fail(err.find("converts only") != std::string::npos ? HS_STATUS_INVALID_ARGUMENT
                                                                           : HS_STATUS_INVALID_HEF,
                            "fake: '" + hef + "': " + err);
            m->out.push_back(std::move(fs));
        }
        for (const auto &o : m->out) {
            if (o.copy_input < 0) continue;
            if (static_cast<size_t>(o.copy_input) >= m->in.size())
                return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef + "': copy_input names input " + std::to_string(o.copy_input) + ", which does not exist");
            const FakeStream &src = m->in[static_cast<size_t>(o.copy_input)];
            if (src.native_type != HS_FORMAT_TYPE_UINT8 || src.info.format_type != HS_FORMAT_TYPE_UINT8 ||
                o.copy_channel >= src.info.features ||
                static_cast<size_t>(src.info.height) * src.info.width != o.elems)
                return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef + "': copy_input needs a UINT8 input with one pixel per output element and the channel");
        }
        out = m;
        return HS_STATUS_SUCCESS;
    }

    int create_llm(const std::shared_ptr<VDevice> &self, const std::string &hef, const hs_genai_params_t &params,
                   std::shared_ptr<Llm> &out) override {
        (void)params;
        if (has_fault(kOutOfMemory))
            return fail(HS_STATUS_OUT_OF_FW_MEMORY, "fake: not enough device memory for the LLM (injected fault 'out_of_memory')");
        json::Value doc;
        std::string base, err;
        if (int st = load_fake_model(hef, "llm", doc, base)) return st;
        auto l = std::make_shared<FakeLlm>();
        l->parent = self;
        if (parse_gen_config(doc, l->core->cfg, err) != 0) return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef + "': " + err);
        if (int st = acquire_kv_cache(*l->core)) return st;
        out = l;
        return HS_STATUS_SUCCESS;
    }

    int create_vlm(const std::shared_ptr<VDevice> &self, const std::string &hef, const hs_genai_params_t &params,
                   std::shared_ptr<Vlm> &out) override {
        (void)params;
        if (has_fault(kOutOfMemory))
            return fail(HS_STATUS_OUT_OF_FW_MEMORY, "fake: not enough device memory for the VLM (injected fault 'out_of_memory')");
        json::Value doc;
        std::string base, err;
        if (int st = load_fake_model(hef, "vlm", doc, base)) return st;
        auto v = std::make_shared<FakeVlm>();
        v->parent = self;
        if (parse_gen_config(doc, v->core->cfg, err) != 0) return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef + "': " + err);
        json::Value def_frame;
        def_frame.type = json::Value::Type::Object;
        const json::Value *fr = doc.get("frame");
        if (!fr) fr = &def_frame;
        FakeStream fs;
        json::Value frame_stream = *fr;
        if (!frame_stream.get("name")) {
            frame_stream.keys.push_back("name");
            json::Value n;
            n.type = json::Value::Type::String;
            n.str = "frame";
            frame_stream.items.push_back(n);
        }
        if (!frame_stream.get("shape")) {
            frame_stream.keys.push_back("shape");
            json::Value arr;
            arr.type = json::Value::Type::Array;
            for (double d : {336.0, 336.0, 3.0}) {
                json::Value x;
                x.type = json::Value::Type::Number;
                x.number = d;
                arr.items.push_back(x);
            }
            frame_stream.items.push_back(arr);
        }
        if (parse_stream(frame_stream, false, HS_FORMAT_TYPE_AUTO, base, fs, err) != 0)
            return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef + "': frame: " + err);
        v->spec.height = fs.info.height;
        v->spec.width = fs.info.width;
        v->spec.features = fs.info.features;
        v->spec.format_type = fs.info.format_type;
        v->spec.format_order = fs.info.format_order;
        v->spec.frame_size = fs.info.frame_size;
        if (int st = acquire_kv_cache(*v->core)) return st;
        out = v;
        return HS_STATUS_SUCCESS;
    }

    int create_s2t(const std::shared_ptr<VDevice> &self, const std::string &hef, std::shared_ptr<S2t> &out) override {
        if (has_fault(kOutOfMemory))
            return fail(HS_STATUS_OUT_OF_FW_MEMORY,
                        "fake: not enough device memory for Speech2Text (injected fault 'out_of_memory')");
        json::Value doc;
        std::string base;
        if (int st = load_fake_model(hef, "s2t", doc, base)) return st;
        auto s = std::make_shared<FakeS2t>();
        s->parent = self;
        s->segment_seconds = doc.get_number("segment_seconds", 5.0);
        s->silence_rms = doc.get_number("silence_rms", 0.01);
        s->translate_prefix = doc.get_string("translate_prefix", "[translated] ");
        if (!(s->segment_seconds > 0.05) || !get_u32(doc, "delay_ms", 0, s->delay_ms))
            return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef + "': bad segment_seconds or delay_ms");
        if (const json::Value *t = doc.get("texts")) {
            if (!t->is_array()) return fail(HS_STATUS_INVALID_HEF, "fake: '" + hef + "': texts must be an array");
            for (const auto &e : t->items)
                if (e.is_string()) s->texts.push_back(e.str);
        }
        out = s;
        return HS_STATUS_SUCCESS;
    }
};

// ------------------------------------------------------------------ backend
class FakeBackend : public Backend {
public:
    FakeBackend() {
        const char *env = std::getenv("HS_FAKE_FAULT");
        if (env && *env) {
            uint32_t mask = 0;
            std::string bad;
            if (parse_faults(env, mask, bad)) {
                g_faults = mask;
            } else {
                std::fprintf(stderr, "hailo_shim: ignoring HS_FAKE_FAULT: unknown fault '%s'\n", bad.c_str());
            }
        }
    }

    const char *name() const override { return "fake"; }

    int runtime_version(hs_version_t &runtime, hs_version_t &built) override {
        built = hs_version_t{5, 2, 0};  // the fake emulates HailoRT 5.2.0
        runtime = built;
        if (const char *v = std::getenv("HS_FAKE_RUNTIME_VERSION")) {
            unsigned a = 0, b = 0, c = 0;
            if (std::sscanf(v, "%u.%u.%u", &a, &b, &c) == 3) runtime = hs_version_t{a, b, c};
        }
        return HS_STATUS_SUCCESS;
    }

    int scan(std::vector<std::string> &ids) override {
        ids.clear();
        if (!has_fault(kNoDevice)) ids.push_back(kFakeDeviceId);
        return HS_STATUS_SUCCESS;
    }

    int open_device(const std::string &id, std::shared_ptr<Device> &out) override {
        if (has_fault(kNoDevice))
            return fail(HS_STATUS_OUT_OF_PHYSICAL_DEVICES, "fake: no Hailo device found (injected fault 'no_device')");
        if (!id.empty() && id != kFakeDeviceId) return fail(HS_STATUS_NOT_FOUND, "fake: no device with id '" + id + "'");
        out = std::make_shared<FakeDevice>(kFakeDeviceId);
        return HS_STATUS_SUCCESS;
    }

    int open_vdevice(const std::string &group_id, std::shared_ptr<VDevice> &out) override {
        if (has_fault(kNoDevice))
            return fail(HS_STATUS_OUT_OF_PHYSICAL_DEVICES,
                        "fake: there are not enough free devices. requested: 1, found: 0 (injected fault 'no_device')");
        auto vd = std::make_shared<FakeVDevice>();
        vd->group = group_id;
        const bool unique = group_id == "UNIQUE";
        int r = vd->device_lock.acquire("device.lock", unique);
        if (r == 1)
            return fail(HS_STATUS_OUT_OF_PHYSICAL_DEVICES,
                        std::string("fake: there are not enough free devices. requested: 1, found: 0 (") +
                            (unique ? "the device is in use by another VDevice; group \"UNIQUE\" needs it exclusively"
                                    : "the device is held by a VDevice with group \"UNIQUE\"") +
                            ")");
        if (r != 0) return r;
        out = vd;
        return HS_STATUS_SUCCESS;
    }

    int set_fault(const char *faults) override {
        uint32_t mask = 0;
        std::string bad;
        if (!parse_faults(faults ? faults : "", mask, bad))
            return fail(HS_STATUS_INVALID_ARGUMENT,
                        "unknown fault '" + bad +
                            "' (known: no_device, device_lost, kv_cache_in_use, timeout, out_of_memory)");
        g_faults = mask;
        return HS_STATUS_SUCCESS;
    }
};

}  // namespace

std::unique_ptr<Backend> make_fake_backend() { return std::make_unique<FakeBackend>(); }

}  // namespace hs
