// Injected faults of the fake backend (hs_fake_set_fault and HS_FAKE_FAULT).
#include "hailo_shim_fake.h"
#include "hs_test.hpp"

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct FaultGuard {  // always leave the process without faults
    ~FaultGuard() { hs_fake_set_fault(nullptr); }
};

int64_t elapsed_ms(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST(fault_names) {
    FaultGuard g;
    CHECK_OK(hs_fake_set_fault(""));
    CHECK_OK(hs_fake_set_fault(nullptr));
    CHECK_OK(hs_fake_set_fault("timeout,device_lost"));
    CHECK_OK(hs_fake_set_fault("no_device kv_cache_in_use out_of_memory"));
    CHECK_ST(hs_fake_set_fault("melted"), HS_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(hs_last_error()).find("melted") != std::string::npos);
    // An unknown name leaves the previous faults in place.
    uint32_t n = 5;
    hs_device_id_t ids[1];
    CHECK_OK(hs_scan(ids, 1, &n));
    CHECK_EQ(n, 0u);
}

TEST(fault_no_device) {
    FaultGuard g;
    REQUIRE_OK(hs_fake_set_fault("no_device"));
    hs_device_id_t ids[2];
    uint32_t n = 9;
    CHECK_OK(hs_scan(ids, 2, &n));
    CHECK_EQ(n, 0u);
    hs_vdevice *vd = nullptr;
    CHECK_ST(hs_vdevice_open(nullptr, &vd), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);
    CHECK(vd == nullptr);
    hs_device *dev = nullptr;
    CHECK_ST(hs_device_open(nullptr, &dev), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);
    CHECK_OK(hs_fake_set_fault(""));
    CHECK_OK(hs_scan(ids, 2, &n));
    CHECK_EQ(n, 1u);
    CHECK_OK(hs_vdevice_open(nullptr, &vd));
    CHECK_OK(hs_vdevice_close(vd));
}

TEST(fault_from_environment) {  // threads
    // HS_FAKE_FAULT is read when the backend starts, so use a fresh process.
    hst::Child c = hst::spawn_helper({"scan"}, {"HS_FAKE_FAULT=no_device"});
    CHECK_EQ(c.first_line, std::string("status=0 count=0"));
    CHECK_EQ(c.wait_exit(), 0);
    hst::Child d = hst::spawn_helper({"vdevice", "SHARED"}, {"HS_FAKE_FAULT=no_device"});
    CHECK_EQ(d.first_line, std::string("status=74"));
    CHECK_EQ(d.wait_exit(), 0);
    hst::Child e = hst::spawn_helper({"scan"}, {"HS_FAKE_FAULT"});
    CHECK_EQ(e.first_line, std::string("status=0 count=1"));
    CHECK_EQ(e.wait_exit(), 0);
}

TEST(fault_device_lost_infer_and_monitoring) {
    FaultGuard g;
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    hs_model *m = nullptr;
    REQUIRE_OK(hs_model_load(vd, hst::fixture("tiny.hef").c_str(), nullptr, &m));
    uint8_t in[4] = {0}, out[2] = {0};
    const void *ins[] = {in};
    void *outs[] = {out};
    size_t isz[] = {4}, osz[] = {2};
    hs_device *dev = nullptr;
    REQUIRE_OK(hs_device_open(nullptr, &dev));
    REQUIRE_OK(hs_fake_set_fault("device_lost"));
    CHECK_ST(hs_model_infer(m, ins, isz, 1, outs, osz, 1, 1000), HS_STATUS_COMMUNICATION_CLOSED);
    hs_temperature_t t;
    CHECK_ST(hs_device_temperature(dev, &t), HS_STATUS_COMMUNICATION_CLOSED);
    hs_identity_t id;
    CHECK_ST(hs_device_identify(dev, &id), HS_STATUS_COMMUNICATION_CLOSED);
    CHECK_OK(hs_fake_set_fault(nullptr));
    CHECK_OK(hs_model_infer(m, ins, isz, 1, outs, osz, 1, 1000));
    CHECK_EQ(out[0], 7);
    CHECK_OK(hs_device_temperature(dev, &t));
    hs_device_close(dev);
    hs_model_unload(m);
    hs_vdevice_close(vd);
}

TEST(fault_device_lost_mid_stream_then_recovery) {
    FaultGuard g;
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    hs_llm *llm = nullptr;
    REQUIRE_OK(hs_llm_create(vd, hst::fixture("llm_paced.json").c_str(), nullptr, &llm));
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(llm, nullptr, "alpha beta gamma delta epsilon", nullptr, nullptr, &c));
    char buf[64];
    size_t len = 0;
    int32_t gs = 0;
    CHECK_OK(hs_completion_read(c, buf, sizeof buf, 2000, &len, &gs));
    CHECK_EQ(std::string(buf), std::string("alpha"));
    CHECK_OK(hs_completion_read(c, buf, sizeof buf, 2000, &len, &gs));
    CHECK_EQ(std::string(buf), std::string(" beta"));
    REQUIRE_OK(hs_fake_set_fault("device_lost"));
    CHECK_ST(hs_completion_read(c, buf, sizeof buf, 2000, &len, &gs), HS_STATUS_COMMUNICATION_CLOSED);
    CHECK(std::string(hs_last_error()).find("device_lost") != std::string::npos);
    hs_completion *c2 = nullptr;
    CHECK_ST(hs_llm_generate_start(llm, nullptr, "x", nullptr, nullptr, &c2), HS_STATUS_INVALID_OPERATION);  // c alive
    CHECK_OK(hs_fake_set_fault(nullptr));
    // The failed completion stays failed; free it and start again.
    CHECK_ST(hs_completion_read(c, buf, sizeof buf, 2000, &len, &gs), HS_STATUS_COMMUNICATION_CLOSED);
    CHECK_OK(hs_completion_free(c));
    REQUIRE_OK(hs_fake_set_fault("device_lost"));
    CHECK_ST(hs_llm_generate_start(llm, nullptr, "x", nullptr, nullptr, &c2), HS_STATUS_COMMUNICATION_CLOSED);
    REQUIRE_OK(hs_fake_set_fault(""));
    REQUIRE_OK(hs_llm_generate_start(llm, nullptr, "recovered fine", nullptr, nullptr, &c2));
    std::string text;
    for (int i = 0; i < 10; ++i) {
        REQUIRE_OK(hs_completion_read(c2, buf, sizeof buf, 2000, &len, &gs));
        text.append(buf, len);
        if (gs != HS_GEN_GENERATING) break;
    }
    CHECK_EQ(text, std::string("recovered fine"));
    CHECK_EQ(gs, HS_GEN_LOGICAL_END);
    CHECK_OK(hs_completion_free(c2));
    hs_llm_destroy(llm);
    hs_vdevice_close(vd);
}

TEST(fault_kv_cache_in_use) {
    FaultGuard g;
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    REQUIRE_OK(hs_fake_set_fault("kv_cache_in_use"));
    hs_llm *llm = nullptr;
    CHECK_ST(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm), HS_STATUS_INVALID_OPERATION);
    CHECK(std::string(hs_last_error()).find("KV-Cache is already in use") != std::string::npos);
    CHECK(llm == nullptr);
    hs_vlm *vlm = nullptr;
    CHECK_ST(hs_vlm_create(vd, hst::fixture("vlm.json").c_str(), nullptr, &vlm), HS_STATUS_INVALID_OPERATION);
    hs_s2t *s2t = nullptr;
    CHECK_OK(hs_s2t_create(vd, hst::fixture("s2t.json").c_str(), &s2t));  // Speech2Text needs no KV cache
    CHECK_OK(hs_s2t_destroy(s2t));
    CHECK_OK(hs_fake_set_fault(nullptr));
    CHECK_OK(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm));
    CHECK_OK(hs_llm_destroy(llm));
    hs_vdevice_close(vd);
}

TEST(fault_timeout) {
    FaultGuard g;
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    hs_model *m = nullptr;
    REQUIRE_OK(hs_model_load(vd, hst::fixture("tiny.hef").c_str(), nullptr, &m));
    hs_llm *llm = nullptr;
    REQUIRE_OK(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm));
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(llm, nullptr, "tick tock", nullptr, nullptr, &c));
    REQUIRE_OK(hs_fake_set_fault("timeout"));
    uint8_t in[4] = {0}, out[2] = {0};
    const void *ins[] = {in};
    void *outs[] = {out};
    size_t isz[] = {4}, osz[] = {2};
    auto t0 = std::chrono::steady_clock::now();
    CHECK_ST(hs_model_infer(m, ins, isz, 1, outs, osz, 1, 60), HS_STATUS_TIMEOUT);
    CHECK(elapsed_ms(t0) >= 50);
    char buf[32];
    size_t len = 0;
    int32_t gs = 0;
    t0 = std::chrono::steady_clock::now();
    CHECK_ST(hs_completion_read(c, buf, sizeof buf, 60, &len, &gs), HS_STATUS_TIMEOUT);
    CHECK(elapsed_ms(t0) >= 50);
    hs_s2t *s2t = nullptr;
    REQUIRE_OK(hs_s2t_create(vd, hst::fixture("s2t.json").c_str(), &s2t));
    std::vector<float> pcm(16000, 0.f);
    hs_s2t_params_t sp = hs_s2t_default_params();
    sp.timeout_ms = 60;
    hs_segments *segs = nullptr;
    CHECK_ST(hs_s2t_transcribe(s2t, pcm.data(), pcm.size(), &sp, &segs), HS_STATUS_TIMEOUT);
    CHECK_OK(hs_fake_set_fault(nullptr));
    // Timeouts are retryable: the same completion continues.
    CHECK_OK(hs_completion_read(c, buf, sizeof buf, 1000, &len, &gs));
    CHECK_EQ(std::string(buf), std::string("tick"));
    CHECK_OK(hs_model_infer(m, ins, isz, 1, outs, osz, 1, 1000));
    CHECK_OK(hs_s2t_transcribe(s2t, pcm.data(), pcm.size(), &sp, &segs));
    hs_segments_free(segs);
    hs_s2t_destroy(s2t);
    hs_completion_free(c);
    hs_llm_destroy(llm);
    hs_model_unload(m);
    hs_vdevice_close(vd);
}

TEST(fault_out_of_memory) {
    FaultGuard g;
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    REQUIRE_OK(hs_fake_set_fault("out_of_memory"));
    hs_model *m = nullptr;
    CHECK_ST(hs_model_load(vd, hst::fixture("tiny.hef").c_str(), nullptr, &m), HS_STATUS_OUT_OF_FW_MEMORY);
    hs_llm *llm = nullptr;
    CHECK_ST(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm), HS_STATUS_OUT_OF_FW_MEMORY);
    hs_vlm *vlm = nullptr;
    CHECK_ST(hs_vlm_create(vd, hst::fixture("vlm.json").c_str(), nullptr, &vlm), HS_STATUS_OUT_OF_FW_MEMORY);
    hs_s2t *s2t = nullptr;
    CHECK_ST(hs_s2t_create(vd, hst::fixture("s2t.json").c_str(), &s2t), HS_STATUS_OUT_OF_FW_MEMORY);
    CHECK(m == nullptr && llm == nullptr && vlm == nullptr && s2t == nullptr);
    CHECK_OK(hs_fake_set_fault(nullptr));
    CHECK_OK(hs_model_load(vd, hst::fixture("tiny.hef").c_str(), nullptr, &m));
    CHECK_OK(hs_model_unload(m));
    CHECK_OK(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm));
    CHECK_OK(hs_llm_destroy(llm));
    hs_vdevice_close(vd);
}
