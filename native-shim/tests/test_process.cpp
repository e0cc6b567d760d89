// Rules that span processes: VDevice group ids and the single KV cache.
// The second process is this test binary re-executed in --helper mode.
#include "hs_test.hpp"

#include <string>

TEST(vdevice_groups_two_processes) {  // threads
    hs_vdevice *u = nullptr;
    REQUIRE_OK(hs_vdevice_open("UNIQUE", &u));
    {
        hst::Child c = hst::spawn_helper({"vdevice", "SHARED"});
        CHECK_EQ(c.first_line, std::string("status=74"));  // HAILO_OUT_OF_PHYSICAL_DEVICES
        CHECK_EQ(c.wait_exit(), 0);
    }
    CHECK_OK(hs_vdevice_close(u));
    {
        hst::Child c = hst::spawn_helper({"vdevice", "SHARED"});
        CHECK_EQ(c.first_line, std::string("status=0"));
        CHECK_EQ(c.wait_exit(), 0);
    }
    // Two processes with "SHARED" at the same time; then "UNIQUE" fails in both directions.
    hs_vdevice *s = nullptr;
    REQUIRE_OK(hs_vdevice_open("SHARED", &s));
    hst::Child holder = hst::spawn_helper({"vdevice", "SHARED", "hold"});
    CHECK_EQ(holder.first_line, std::string("status=0"));
    {
        hst::Child c = hst::spawn_helper({"vdevice", "UNIQUE"});
        CHECK_EQ(c.first_line, std::string("status=74"));
        CHECK_EQ(c.wait_exit(), 0);
    }
    CHECK_OK(hs_vdevice_close(s));
    CHECK_ST(hs_vdevice_open("UNIQUE", &u), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);  // the helper still holds it
    CHECK_EQ(holder.wait_exit(), 0);
    CHECK_OK(hs_vdevice_open("UNIQUE", &u));  // released when the helper exits
    CHECK_OK(hs_vdevice_close(u));
    // A helper holding "UNIQUE" blocks this process.
    hst::Child excl = hst::spawn_helper({"vdevice", "UNIQUE", "hold"});
    CHECK_EQ(excl.first_line, std::string("status=0"));
    CHECK_ST(hs_vdevice_open(nullptr, &s), HS_STATUS_OUT_OF_PHYSICAL_DEVICES);
    CHECK_EQ(excl.wait_exit(), 0);
    CHECK_OK(hs_vdevice_open(nullptr, &s));
    CHECK_OK(hs_vdevice_close(s));
}

TEST(kv_cache_in_process) {
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    hs_llm *a = nullptr, *b = nullptr;
    REQUIRE_OK(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &a));
    CHECK_ST(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &b), HS_STATUS_INVALID_OPERATION);
    hs_vlm *v = nullptr;
    CHECK_ST(hs_vlm_create(vd, hst::fixture("vlm.json").c_str(), nullptr, &v), HS_STATUS_INVALID_OPERATION);
    // The KV cache is released only when the LLM and its completion are both gone.
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(a, nullptr, "keep me", nullptr, nullptr, &c));
    CHECK_OK(hs_llm_destroy(a));
    CHECK_ST(hs_vlm_create(vd, hst::fixture("vlm.json").c_str(), nullptr, &v), HS_STATUS_INVALID_OPERATION);
    char buf[32];
    size_t len = 0;
    int32_t gs = 0;
    CHECK_OK(hs_completion_read(c, buf, sizeof buf, 1000, &len, &gs));  // still usable
    CHECK_EQ(std::string(buf), std::string("keep"));
    CHECK_OK(hs_completion_free(c));
    CHECK_OK(hs_vlm_create(vd, hst::fixture("vlm.json").c_str(), nullptr, &v));
    CHECK_OK(hs_vlm_destroy(v));
    CHECK_OK(hs_vdevice_close(vd));
}

TEST(kv_cache_two_processes) {  // threads
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open("SHARED", &vd));
    hs_llm *llm = nullptr;
    REQUIRE_OK(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm));
    {
        hst::Child c = hst::spawn_helper({"llm", hst::fixture("llm.json")});
        CHECK_EQ(c.first_line, std::string("status=6"));  // HAILO_INVALID_OPERATION, as HailoRT's server
        CHECK_EQ(c.wait_exit(), 0);
    }
    {
        hst::Child c = hst::spawn_helper({"vlm", hst::fixture("vlm.json")});
        CHECK_EQ(c.first_line, std::string("status=6"));
        CHECK_EQ(c.wait_exit(), 0);
    }
    {
        hst::Child c = hst::spawn_helper({"s2t", hst::fixture("s2t.json")});
        CHECK_EQ(c.first_line, std::string("status=0"));  // Speech2Text coexists
        CHECK_EQ(c.wait_exit(), 0);
    }
    CHECK_OK(hs_llm_destroy(llm));
    hst::Child holder = hst::spawn_helper({"vlm", hst::fixture("vlm.json"), "hold"});
    CHECK_EQ(holder.first_line, std::string("status=0"));
    CHECK_ST(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm), HS_STATUS_INVALID_OPERATION);
    CHECK_EQ(holder.wait_exit(), 0);
    CHECK_OK(hs_llm_create(vd, hst::fixture("llm.json").c_str(), nullptr, &llm));
    CHECK_OK(hs_llm_destroy(llm));
    CHECK_OK(hs_vdevice_close(vd));
}
