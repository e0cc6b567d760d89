// Library-level behaviour: versions, status names, last error, defaults, devices,
// VDevice group rules inside one process, handle safety.
#include "hs_test.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

TEST(version_abi) {
    CHECK_EQ(hs_abi_version(), HS_ABI_VERSION);
    CHECK_EQ(std::string(hs_shim_version()), std::string("1.0.0"));
    CHECK_EQ(std::string(hs_backend_name()), std::string("fake"));
    hs_version_t rt{}, built{};
    CHECK_OK(hs_runtime_version(&rt, &built));
    CHECK_EQ(rt.major, 5u);
    CHECK_EQ(rt.minor, 2u);
    CHECK_EQ(rt.revision, 0u);
    CHECK_EQ(built.major, rt.major);
    CHECK_EQ(built.minor, rt.minor);
    CHECK_EQ(built.revision, rt.revision);
    CHECK_OK(hs_runtime_version(nullptr, nullptr));
}

TEST(version_mismatch) {
    ::setenv("HS_FAKE_RUNTIME_VERSION", "5.1.1", 1);
    hs_version_t rt{}, built{};
    CHECK_ST(hs_runtime_version(&rt, &built), HS_STATUS_VERSION_MISMATCH);
    CHECK_EQ(rt.minor, 1u);
    CHECK_EQ(rt.revision, 1u);
    CHECK_EQ(built.minor, 2u);
    CHECK(std::strstr(hs_last_error(), "rebuild the shim") != nullptr);
    ::unsetenv("HS_FAKE_RUNTIME_VERSION");
    CHECK_OK(hs_runtime_version(&rt, &built));
}

TEST(status_names) {
    CHECK_EQ(std::string(hs_status_name(0)), std::string("HAILO_SUCCESS"));
    CHECK_EQ(std::string(hs_status_name(2)), std::string("HAILO_INVALID_ARGUMENT"));
    CHECK_EQ(std::string(hs_status_name(4)), std::string("HAILO_TIMEOUT"));
    CHECK_EQ(std::string(hs_status_name(6)), std::string("HAILO_INVALID_OPERATION"));
    CHECK_EQ(std::string(hs_status_name(7)), std::string("HAILO_NOT_IMPLEMENTED"));
    CHECK_EQ(std::string(hs_status_name(62)), std::string("HAILO_COMMUNICATION_CLOSED"));
    CHECK_EQ(std::string(hs_status_name(71)), std::string("HAILO_OUT_OF_FW_MEMORY"));
    CHECK_EQ(std::string(hs_status_name(74)), std::string("HAILO_OUT_OF_PHYSICAL_DEVICES"));
    CHECK_EQ(std::string(hs_status_name(79)), std::string("HAILO_NOT_SUPPORTED"));
    CHECK_EQ(std::string(hs_status_name(95)), std::string("HAILO_OPERATION_ABORTED"));
    CHECK_EQ(std::string(hs_status_name(97)), std::string("HAILO_DEVICE_TEMPORARILY_UNAVAILABLE"));
    CHECK_EQ(std::string(hs_status_name(HS_STATUS_NO_BACKEND)), std::string("HS_NO_BACKEND"));
    CHECK_EQ(std::string(hs_status_name(HS_STATUS_BUFFER_TOO_SMALL)), std::string("HS_BUFFER_TOO_SMALL"));
    CHECK_EQ(std::string(hs_status_name(HS_STATUS_VERSION_MISMATCH)), std::string("HS_VERSION_MISMATCH"));
    CHECK_EQ(std::string(hs_status_name(HS_STATUS_EXCEPTION)), std::string("HS_EXCEPTION"));
    CHECK_EQ(std::string(hs_status_name(98)), std::string("HS_UNKNOWN_STATUS"));
    CHECK_EQ(std::string(hs_status_name(-1)), std::string("HS_UNKNOWN_STATUS"));
    // Shim-local codes cannot collide with HailoRT's.
    CHECK(HS_STATUS_NO_BACKEND >= 1000 && HS_STATUS_BUFFER_TOO_SMALL >= 1000);
}

TEST(last_error_per_thread) {  // threads
    CHECK_ST(hs_device_close(nullptr), HS_STATUS_INVALID_ARGUMENT);
    std::string mine = hs_last_error();
    CHECK(mine.find("hs_device_close") != std::string::npos);
    CHECK(mine.find("HAILO_INVALID_ARGUMENT") != std::string::npos);

    std::string other_before, other_after_fail;
    std::thread t([&] {
        other_before = hs_last_error();  // this thread has not failed yet
        hs_model_unload(nullptr);
        other_after_fail = hs_last_error();
    });
    t.join();
    CHECK_EQ(other_before, std::string());
    CHECK(other_after_fail.find("hs_model_unload") != std::string::npos);
    CHECK_EQ(std::string(hs_last_error()), mine);  // untouched by the other thread

    uint32_t n = 0;
    hs_device_id_t ids[2];
    CHECK_OK(hs_scan(ids, 2, &n));
    CHECK_EQ(std::string(hs_last_error()), std::string());  // a successful call clears it
}

TEST(default_params) {
    hs_model_params_t m = hs_model_default_params();
    CHECK_EQ(m.batch_size, 1u);
    CHECK_EQ(m.output_format_type, HS_FORMAT_TYPE_AUTO);
    CHECK_EQ(m.scheduler_priority, HS_SCHEDULER_PRIORITY_NORMAL);
    CHECK(std::isnan(m.nms_score_threshold));
    hs_gen_params_t g = hs_gen_default_params();
    CHECK(std::isnan(g.temperature) && std::isnan(g.top_p) && std::isnan(g.frequency_penalty));
    CHECK_EQ(g.max_generated_tokens, 0u);
    CHECK_EQ(g.do_sample, -1);
    CHECK_EQ(g.use_seed, 0);
    hs_genai_params_t a = hs_genai_default_params();
    CHECK_EQ(a.lora_name[0], '\0');
    CHECK_EQ(a.optimize_memory_on_device, 0);
    hs_s2t_params_t s = hs_s2t_default_params();
    CHECK_EQ(s.task, HS_S2T_TASK_TRANSCRIBE);
    CHECK_EQ(s.language[0], '\0');
    CHECK_EQ(s.timeout_ms, HS_TIMEOUT_DEFAULT);
}

TEST(scan_identify_temperature_power) {
    hs_device_id_t ids[4];
    uint32_t n = 0;
    CHECK_OK(hs_scan(ids, 4, &n));
    REQUIRE(n == 1);
    CHECK_EQ(std::string(ids[0].id), std::string("fake-0001:01:00.0"));
    CHECK_ST(hs_scan(nullptr, 0, &n), HS_STATUS_BUFFER_TOO_SMALL);
    CHECK_EQ(n, 1u);
    CHECK_ST(hs_scan(ids, 4, nullptr), HS_STATUS_INVALID_ARGUMENT);

    hs_device *dev = nullptr;
    REQUIRE_OK(hs_device_open(nullptr, &dev));
    hs_identity_t id;
    CHECK_OK(hs_device_identify(dev, &id));
    CHECK_EQ(std::string(id.product_name), std::string("FAKE-HAILO-10H"));
    CHECK_EQ(std::string(id.arch_name), std::string("HAILO10H"));
    CHECK_EQ(id.architecture, 6);
    CHECK_EQ(id.fw_major, 5u);
    CHECK_EQ(std::string(id.device_id), std::string(ids[0].id));
    CHECK(std::string(id.serial_number).rfind("FAKE", 0) == 0);
    CHECK(std::string(id.board_name).find("FAKE") != std::string::npos);

    hs_temperature_t t{};
    CHECK_OK(hs_device_temperature(dev, &t));
    CHECK(t.ts0_celsius > 20.f && t.ts0_celsius < 90.f);
    CHECK(t.ts1_celsius > 20.f && t.ts1_celsius < 90.f);

    hs_health_t h;
    CHECK_OK(hs_device_health(dev, &h));
    CHECK_EQ(h.health_valid, 1);
    CHECK(h.ram_total_kib > h.ram_used_kib);

    float w = 123.f;
    CHECK_ST(hs_device_power(dev, &w), HS_STATUS_NOT_SUPPORTED);
    CHECK_EQ(w, 123.f);  // untouched on failure
    CHECK_OK(hs_device_close(dev));

    hs_device *dev2 = nullptr;
    CHECK_OK(hs_device_open("fake-0001:01:00.0", &dev2));
    CHECK_OK(hs_device_close(dev2));
    CHECK_ST(hs_device_open("0009:09:00.0", &dev2), HS_STATUS_NOT_FOUND);
    CHECK(dev2 == nullptr);
}

TEST(vdevice_groups_in_process) {
    hs_vdevice *a = nullptr, *b = nullptr, *u = nullptr;
    REQUIRE_OK(hs_vdevice_open("SHARED", &a));
    CHECK_OK(hs_vdevice_open(nullptr, &b));  // NULL = "SHARED"
    CHECK_ST(hs_vdevice_open("UNIQUE", &u), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);
    CHECK(u == nullptr);
    CHECK_OK(hs_vdevice_close(a));
    CHECK_ST(hs_vdevice_open("UNIQUE", &u), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);  // b still holds it
    CHECK_OK(hs_vdevice_close(b));
    REQUIRE_OK(hs_vdevice_open("UNIQUE", &u));
    hs_vdevice *s = nullptr, *u2 = nullptr;
    CHECK_ST(hs_vdevice_open("SHARED", &s), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);
    CHECK_ST(hs_vdevice_open("UNIQUE", &u2), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);
    CHECK_OK(hs_vdevice_close(u));
    CHECK_OK(hs_vdevice_open("SHARED", &s));
    CHECK_OK(hs_vdevice_close(s));
    CHECK_ST(hs_vdevice_open("", &s), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_vdevice_open("SHARED", nullptr), HS_STATUS_INVALID_ARGUMENT);
}

TEST(vdevice_release_waits_for_children) {
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open("UNIQUE", &vd));
    hs_model *m = nullptr;
    REQUIRE_OK(hs_model_load(vd, hst::fixture("tiny.hef").c_str(), nullptr, &m));
    CHECK_OK(hs_vdevice_close(vd));
    // The model keeps the (exclusive) device alive and usable.
    hs_vdevice *other = nullptr;
    CHECK_ST(hs_vdevice_open("SHARED", &other), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);
    uint8_t in[4] = {1, 2, 3, 4}, out[2] = {0, 0};
    const void *ins[] = {in};
    void *outs[] = {out};
    size_t in_sz[] = {4}, out_sz[] = {2};
    CHECK_OK(hs_model_infer(m, ins, in_sz, 1, outs, out_sz, 1, 1000));
    CHECK_EQ(out[1], 9);
    CHECK_OK(hs_model_unload(m));
    CHECK_OK(hs_vdevice_open("SHARED", &other));
    CHECK_OK(hs_vdevice_close(other));
}

TEST(handle_safety) {
    // NULL handles.
    uint32_t u32 = 0;
    size_t sz = 0;
    int32_t gs = 0;
    char buf[16];
    CHECK_ST(hs_device_close(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_device_identify(nullptr, nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_vdevice_close(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_load(nullptr, "x", nullptr, nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_io_count(nullptr, &u32, &u32), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_infer(nullptr, nullptr, nullptr, 0, nullptr, nullptr, 0, 0), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_unload(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_create(nullptr, "x", nullptr, nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_context_info(nullptr, &u32, &u32), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_tokenize(nullptr, "a", nullptr, 0, &sz), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_generate_start(nullptr, nullptr, "a", nullptr, nullptr, nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_clear_context(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_destroy(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_completion_read(nullptr, buf, sizeof buf, 0, &sz, &gs), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_completion_abort(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_completion_free(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_vlm_frame_spec(nullptr, nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_vlm_destroy(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_s2t_transcribe(nullptr, nullptr, 0, nullptr, nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_s2t_destroy(nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_segments_count(nullptr, &u32), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_segments_free(nullptr), HS_STATUS_INVALID_ARGUMENT);

    // Double close / free of every handle kind.
    hs_device *dev = nullptr;
    REQUIRE_OK(hs_device_open(nullptr, &dev));
    CHECK_OK(hs_device_close(dev));
    CHECK_ST(hs_device_close(dev), HS_STATUS_INVALID_ARGUMENT);
    hs_temperature_t t;
    CHECK_ST(hs_device_temperature(dev, &t), HS_STATUS_INVALID_ARGUMENT);  // use after close

    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    hs_model *m = nullptr;
    REQUIRE_OK(hs_model_load(vd, hst::fixture("tiny.hef").c_str(), nullptr, &m));
    // Wrong kind: a vdevice passed as a model.
    CHECK_ST(hs_model_io_count(reinterpret_cast<hs_model *>(vd), &u32, &u32), HS_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(hs_last_error()).find("expected a hs_model") != std::string::npos);
    CHECK_OK(hs_model_unload(m));
    CHECK_ST(hs_model_unload(m), HS_STATUS_INVALID_ARGUMENT);

    hs_llm *llm = nullptr;
    REQUIRE_OK(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm));
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(llm, nullptr, "hi there", nullptr, nullptr, &c));
    CHECK_OK(hs_completion_free(c));
    CHECK_ST(hs_completion_free(c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_completion_read(c, buf, sizeof buf, 0, &sz, &gs), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_completion_abort(c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_OK(hs_llm_destroy(llm));
    CHECK_ST(hs_llm_destroy(llm), HS_STATUS_INVALID_ARGUMENT);

    hs_vlm *vlm = nullptr;
    REQUIRE_OK(hs_vlm_create(vd, hst::fixture("vlm.json").c_str(), nullptr, &vlm));
    CHECK_OK(hs_vlm_destroy(vlm));
    CHECK_ST(hs_vlm_destroy(vlm), HS_STATUS_INVALID_ARGUMENT);

    hs_s2t *s2t = nullptr;
    REQUIRE_OK(hs_s2t_create(vd, hst::fixture("s2t.json").c_str(), &s2t));
    float pcm[160] = {0};
    hs_segments *segs = nullptr;
    REQUIRE_OK(hs_s2t_transcribe(s2t, pcm, 160, nullptr, &segs));
    CHECK_OK(hs_segments_free(segs));
    CHECK_ST(hs_segments_free(segs), HS_STATUS_INVALID_ARGUMENT);
    CHECK_OK(hs_s2t_destroy(s2t));
    CHECK_ST(hs_s2t_destroy(s2t), HS_STATUS_INVALID_ARGUMENT);

    CHECK_OK(hs_vdevice_close(vd));
    CHECK_ST(hs_vdevice_close(vd), HS_STATUS_INVALID_ARGUMENT);
    // A made-up pointer value is rejected too.
    CHECK_ST(hs_vdevice_close(reinterpret_cast<hs_vdevice *>(0x1234)), HS_STATUS_INVALID_ARGUMENT);
}
