// hs-selftest: on-device smoke test of libhailo_shim (also runs against the fake).
//
//   hs-selftest [--group G] device            version, scan, identify, temperature, health, power
//   hs-selftest [--group G] vision HEF        load, io info, one inference with size checks
//   hs-selftest [--group G] llm HEF           10 pieces, abort, clear context
//   hs-selftest [--group G] s2t HEF           transcribe 2 s of silence
//   hs-selftest [--group G] hold MAX_MS FILE  hold a VDevice until FILE exists (or MAX_MS)
//   hs-selftest [--group G] open              open a VDevice once and report the status
//
// Prints one line per check: "PASS|FAIL|SKIP|NOTE <check>: <detail>"; exit code 1 if
// any check failed.
#include "hailo_shim.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

namespace {

int g_failures = 0;
std::string g_group = "SHARED";

void report(const char *kind, const std::string &check, const std::string &detail) {
    std::printf("%s %s: %s\n", kind, check.c_str(), detail.c_str());
    std::fflush(stdout);
    if (std::strcmp(kind, "FAIL") == 0) ++g_failures;
}

std::string st_text(int32_t st) {
    std::string s = std::string(hs_status_name(st)) + " (" + std::to_string(st) + ")";
    const char *e = hs_last_error();
    if (e && *e) s += ": " + std::string(e);
    return s;
}

bool expect_ok(int32_t st, const std::string &check, const std::string &ok_detail = "ok") {
    if (st == HS_STATUS_SUCCESS) {
        report("PASS", check, ok_detail);
        return true;
    }
    report("FAIL", check, st_text(st));
    return false;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Page-aligned buffer (HailoRT maps DMA buffers more cheaply when aligned).
struct Aligned {
    void *p = nullptr;
    size_t size = 0;
    explicit Aligned(size_t n) : size(n) {
        size_t rounded = (n + 4095) / 4096 * 4096;
        p = std::aligned_alloc(4096, rounded ? rounded : 4096);
        if (p) std::memset(p, 0, rounded ? rounded : 4096);
    }
    ~Aligned() { std::free(p); }
    Aligned(const Aligned &) = delete;
    Aligned &operator=(const Aligned &) = delete;
};

int step_device() {
    report("NOTE", "backend", std::string(hs_backend_name()) + ", shim " + hs_shim_version());
    if (hs_abi_version() != HS_ABI_VERSION)
        report("FAIL", "abi", "library ABI " + std::to_string(hs_abi_version()) + " != header " +
                                  std::to_string(HS_ABI_VERSION));
    else
        report("PASS", "abi", "version " + std::to_string(HS_ABI_VERSION));
    hs_version_t rt{}, built{};
    int32_t st = hs_runtime_version(&rt, &built);
    std::string v = "runtime " + std::to_string(rt.major) + "." + std::to_string(rt.minor) + "." +
                    std::to_string(rt.revision) + ", built against " + std::to_string(built.major) + "." +
                    std::to_string(built.minor) + "." + std::to_string(built.revision);
    if (st == HS_STATUS_SUCCESS) report("PASS", "runtime_version", v);
    else report("FAIL", "runtime_version", v + " - " + st_text(st));

    hs_device_id_t ids[8];
    uint32_t n = 0;
    st = hs_scan(ids, 8, &n);
    if (st != HS_STATUS_SUCCESS && st != HS_STATUS_BUFFER_TOO_SMALL) {
        report("FAIL", "scan", st_text(st));
        return 1;
    }
    if (n == 0) {
        report("FAIL", "scan", "no Hailo device found");
        return 1;
    }
    std::string list;
    for (uint32_t i = 0; i < n && i < 8; ++i) list += (i ? ", " : "") + std::string(ids[i].id);
    report("PASS", "scan", std::to_string(n) + " device(s): " + list);

    hs_device *dev = nullptr;
    if (!expect_ok(hs_device_open(nullptr, &dev), "device_open")) return 1;
    hs_identity_t id;
    st = hs_device_identify(dev, &id);
    if (st == HS_STATUS_SUCCESS)
        report("PASS", "identify",
               std::string(id.product_name) + " arch=" + id.arch_name + " fw=" + std::to_string(id.fw_major) + "." +
                   std::to_string(id.fw_minor) + "." + std::to_string(id.fw_revision) + " serial=" + id.serial_number +
                   " part=" + id.part_number + " board=" + id.board_name);
    else
        report("FAIL", "identify", st_text(st));
    hs_temperature_t t{};
    st = hs_device_temperature(dev, &t);
    if (st != HS_STATUS_SUCCESS) report("FAIL", "temperature", st_text(st));
    else if (t.ts0_celsius < -40.f || t.ts0_celsius > 125.f || t.ts1_celsius < -40.f || t.ts1_celsius > 125.f)
        report("FAIL", "temperature", "implausible: " + std::to_string(t.ts0_celsius) + " / " + std::to_string(t.ts1_celsius));
    else
        report("PASS", "temperature", std::to_string(t.ts0_celsius) + " C / " + std::to_string(t.ts1_celsius) + " C");
    hs_health_t h;
    st = hs_device_health(dev, &h);
    if (st == HS_STATUS_SUCCESS)
        report("PASS", "health", "health_valid=" + std::to_string(h.health_valid) + " perf_valid=" +
                                     std::to_string(h.perf_valid) + " die=" + std::to_string(h.on_die_temperature_celsius) +
                                     " C cpu=" + std::to_string(h.cpu_utilization_percent) + "% ram=" +
                                     std::to_string(h.ram_used_kib) + "/" + std::to_string(h.ram_total_kib) + " KiB");
    else if (st == HS_STATUS_NOT_SUPPORTED || st == HS_STATUS_NOT_IMPLEMENTED)
        report("SKIP", "health", st_text(st));
    else
        report("FAIL", "health", st_text(st));
    float w = 0.f;
    st = hs_device_power(dev, &w);
    if (st == HS_STATUS_SUCCESS) report("PASS", "power", std::to_string(w) + " W");
    else if (st == HS_STATUS_NOT_SUPPORTED) report("SKIP", "power", "no power sensor (NOT_SUPPORTED)");
    else report("FAIL", "power", st_text(st));
    hs_device_close(dev);
    return 0;
}

int step_vision(const char *hef) {
    hs_vdevice *vd = nullptr;
    if (!expect_ok(hs_vdevice_open(g_group.c_str(), &vd), "vdevice_open", "group " + g_group)) return 1;
    hs_model *m = nullptr;
    auto t0 = std::chrono::steady_clock::now();
    if (!expect_ok(hs_model_load(vd, hef, nullptr, &m), "vision_load")) {
        hs_vdevice_close(vd);
        return 1;
    }
    report("NOTE", "vision_load_time", std::to_string(ms_since(t0)) + " ms");
    uint32_t ni = 0, no = 0;
    hs_model_io_count(m, &ni, &no);
    std::vector<hs_io_info_t> infos(ni + no);
    std::vector<Aligned *> bufs;
    for (uint32_t i = 0; i < ni + no; ++i) {
        bool out = i >= ni;
        uint32_t idx = out ? i - ni : i;
        hs_model_io_info(m, out, idx, &infos[i]);
        const hs_io_info_t &x = infos[i];
        report("NOTE", out ? "output" : "input",
               std::string(x.name) + " " + std::to_string(x.height) + "x" + std::to_string(x.width) + "x" +
                   std::to_string(x.features) + " type=" + std::to_string(x.format_type) + " order=" +
                   std::to_string(x.format_order) + " bytes=" + std::to_string(x.frame_size) + " nms=" +
                   std::to_string(x.is_nms) + " quant=" + std::to_string(x.quant_count) + " scale=" +
                   std::to_string(x.qp_scale) + " zp=" + std::to_string(x.qp_zp));
        bufs.push_back(new Aligned(static_cast<size_t>(x.frame_size)));
    }
    std::vector<const void *> ins;
    std::vector<void *> outs;
    std::vector<size_t> isz, osz;
    for (uint32_t i = 0; i < ni; ++i) {
        ins.push_back(bufs[i]->p);
        isz.push_back(bufs[i]->size);
    }
    for (uint32_t i = ni; i < ni + no; ++i) {
        outs.push_back(bufs[i]->p);
        osz.push_back(bufs[i]->size);
    }
    t0 = std::chrono::steady_clock::now();
    int32_t st = hs_model_infer(m, ins.data(), isz.data(), ni, outs.data(), osz.data(), no, 10000);
    if (st == HS_STATUS_SUCCESS) report("PASS", "vision_infer", "one frame in " + std::to_string(ms_since(t0)) + " ms");
    else report("FAIL", "vision_infer", st_text(st));
    if (ni > 0) {
        std::vector<size_t> bad = isz;
        bad[0] -= 1;
        st = hs_model_infer(m, ins.data(), bad.data(), ni, outs.data(), osz.data(), no, 10000);
        if (st == HS_STATUS_INVALID_ARGUMENT) report("PASS", "vision_size_check", "short input rejected");
        else report("FAIL", "vision_size_check", "expected INVALID_ARGUMENT, got " + st_text(st));
    }
    for (auto *b : bufs) delete b;
    expect_ok(hs_model_unload(m), "vision_unload");
    hs_vdevice_close(vd);
    return 0;
}

int step_llm(const char *hef) {
    hs_vdevice *vd = nullptr;
    if (!expect_ok(hs_vdevice_open(g_group.c_str(), &vd), "vdevice_open", "group " + g_group)) return 1;
    hs_llm *llm = nullptr;
    auto t0 = std::chrono::steady_clock::now();
    if (!expect_ok(hs_llm_create(vd, hef, nullptr, &llm), "llm_create")) {
        hs_vdevice_close(vd);
        return 1;
    }
    report("NOTE", "llm_load_time", std::to_string(ms_since(t0)) + " ms");
    uint32_t max_ctx = 0, used = 0;
    hs_llm_context_info(llm, &max_ctx, &used);
    report("NOTE", "llm_context", std::to_string(used) + " of " + std::to_string(max_ctx) + " tokens used");
    const char *msgs =
        R"([{"role":"user","content":"Count from one to forty in words, separated by spaces: one two three four five six seven eight nine ten eleven twelve"}])";
    hs_gen_params_t p = hs_gen_default_params();
    p.max_generated_tokens = 128;
    hs_completion *c = nullptr;
    t0 = std::chrono::steady_clock::now();
    if (!expect_ok(hs_llm_generate_start(llm, &p, nullptr, msgs, nullptr, &c), "llm_generate_start")) {
        hs_llm_destroy(llm);
        hs_vdevice_close(vd);
        return 1;
    }
    std::string text;
    int pieces = 0;
    int32_t gs = HS_GEN_GENERATING;
    double first_ms = -1;
    char buf[256];
    while (pieces < 10 && gs == HS_GEN_GENERATING) {
        size_t len = 0;
        int32_t st = hs_completion_read(c, buf, sizeof buf, 30000, &len, &gs);
        if (st != HS_STATUS_SUCCESS) {
            report("FAIL", "llm_read", st_text(st));
            break;
        }
        if (first_ms < 0) first_ms = ms_since(t0);
        text.append(buf, len);
        ++pieces;
    }
    report(pieces == 10 || gs != HS_GEN_GENERATING ? "PASS" : "FAIL", "llm_tokens",
           std::to_string(pieces) + " pieces, first after " + std::to_string(first_ms) + " ms: \"" + text + "\"");
    if (gs == HS_GEN_GENERATING) {
        t0 = std::chrono::steady_clock::now();
        expect_ok(hs_completion_abort(c), "llm_abort");
        for (int i = 0; i < 1000 && gs == HS_GEN_GENERATING; ++i) {
            size_t len = 0;
            if (hs_completion_read(c, buf, sizeof buf, 30000, &len, &gs) != HS_STATUS_SUCCESS) break;
        }
        if (gs == HS_GEN_ABORTED) report("PASS", "llm_aborted", "status ABORTED after " + std::to_string(ms_since(t0)) + " ms");
        else report("FAIL", "llm_aborted", "final status " + std::to_string(gs));
    } else {
        report("NOTE", "llm_abort", "generation ended by itself (status " + std::to_string(gs) + "), nothing to abort");
    }
    hs_completion_free(c);
    hs_llm_context_info(llm, &max_ctx, &used);
    report("NOTE", "llm_context", std::to_string(used) + " of " + std::to_string(max_ctx) + " tokens used");
    if (expect_ok(hs_llm_clear_context(llm), "llm_clear_context")) {
        hs_llm_context_info(llm, &max_ctx, &used);
        report(used == 0 ? "PASS" : "FAIL", "llm_context_cleared", std::to_string(used) + " tokens used");
    }
    expect_ok(hs_llm_destroy(llm), "llm_destroy");
    hs_vdevice_close(vd);
    return 0;
}

int step_s2t(const char *hef) {
    hs_vdevice *vd = nullptr;
    if (!expect_ok(hs_vdevice_open(g_group.c_str(), &vd), "vdevice_open", "group " + g_group)) return 1;
    hs_s2t *s2t = nullptr;
    if (!expect_ok(hs_s2t_create(vd, hef, &s2t), "s2t_create")) {
        hs_vdevice_close(vd);
        return 1;
    }
    std::vector<float> silence(2 * 16000, 0.f);
    hs_segments *segs = nullptr;
    auto t0 = std::chrono::steady_clock::now();
    int32_t st = hs_s2t_transcribe(s2t, silence.data(), silence.size(), nullptr, &segs);
    if (st == HS_STATUS_SUCCESS) {
        uint32_t n = 0;
        hs_segments_count(segs, &n);
        std::string all;
        for (uint32_t i = 0; i < n; ++i) {
            float a = 0, b = 0;
            const char *text = nullptr;
            size_t len = 0;
            hs_segment_get(segs, i, &a, &b, &text, &len);
            all += " [" + std::to_string(a) + "-" + std::to_string(b) + "] " + std::string(text, len);
        }
        report("PASS", "s2t_silence", "2 s of silence -> " + std::to_string(n) + " segment(s) in " +
                                          std::to_string(ms_since(t0)) + " ms" + all);
        hs_segments_free(segs);
    } else {
        report("FAIL", "s2t_silence", st_text(st));
    }
    expect_ok(hs_s2t_destroy(s2t), "s2t_destroy");
    hs_vdevice_close(vd);
    return 0;
}

int step_open() {
    hs_vdevice *vd = nullptr;
    int32_t st = hs_vdevice_open(g_group.c_str(), &vd);
    std::printf("OPEN %s %d %s\n", g_group.c_str(), st, hs_status_name(st));
    std::fflush(stdout);
    if (vd) hs_vdevice_close(vd);
    return 0;
}

int step_hold(long max_ms, const char *release_file) {
    hs_vdevice *vd = nullptr;
    int32_t st = hs_vdevice_open(g_group.c_str(), &vd);
    if (st != HS_STATUS_SUCCESS) {
        std::printf("HOLD-FAILED %s\n", st_text(st).c_str());
        std::fflush(stdout);
        return 1;
    }
    std::printf("READY\n");
    std::fflush(stdout);
    auto t0 = std::chrono::steady_clock::now();
    while (ms_since(t0) < static_cast<double>(max_ms) && ::access(release_file, F_OK) != 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    hs_vdevice_close(vd);
    std::printf("RELEASED\n");
    return 0;
}

int usage() {
    std::fprintf(stderr,
                 "usage: hs-selftest [--group G] device | vision HEF | llm HEF | s2t HEF | open | hold MAX_MS FILE\n");
    return 2;
}

}  // namespace

int main(int argc, char **argv) {
    int i = 1;
    if (i + 1 < argc && std::strcmp(argv[i], "--group") == 0) {
        g_group = argv[i + 1];
        i += 2;
    }
    if (i >= argc) return usage();
    std::string step = argv[i];
    int rc = 0;
    if (step == "device") rc = step_device();
    else if (step == "vision" && i + 1 < argc) rc = step_vision(argv[i + 1]);
    else if (step == "llm" && i + 1 < argc) rc = step_llm(argv[i + 1]);
    else if (step == "s2t" && i + 1 < argc) rc = step_s2t(argv[i + 1]);
    else if (step == "open") rc = step_open();
    else if (step == "hold" && i + 2 < argc) return step_hold(std::atol(argv[i + 1]), argv[i + 2]);
    else return usage();
    return (rc != 0 || g_failures != 0) ? 1 : 0;
}
