// Vision models: load, io info, per-channel quant, synchronous inference.
#include "hs_test.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct Loaded {
    hs_vdevice *vd = nullptr;
    hs_model *m = nullptr;
    ~Loaded() {
        if (m) hs_model_unload(m);
        if (vd) hs_vdevice_close(vd);
    }
};

int32_t load(Loaded &l, const std::string &fixture, const hs_model_params_t *p = nullptr) {
    int32_t st = hs_vdevice_open(nullptr, &l.vd);
    if (st) return st;
    return hs_model_load(l.vd, hst::fixture(fixture).c_str(), p, &l.m);
}

}  // namespace

TEST(vision_io_info) {
    Loaded l;
    REQUIRE_OK(load(l, "vision_depth.json"));
    uint32_t ni = 0, no = 0;
    CHECK_OK(hs_model_io_count(l.m, &ni, &no));
    CHECK_EQ(ni, 1u);
    CHECK_EQ(no, 2u);

    hs_io_info_t in;
    REQUIRE_OK(hs_model_io_info(l.m, 0, 0, &in));
    CHECK_EQ(std::string(in.name), std::string("fake_depth/input_layer1"));
    CHECK_EQ(in.height, 8u);
    CHECK_EQ(in.width, 10u);
    CHECK_EQ(in.features, 3u);
    CHECK_EQ(in.format_type, HS_FORMAT_TYPE_UINT8);
    CHECK_EQ(in.format_order, HS_FORMAT_ORDER_NHWC);
    CHECK_EQ(in.frame_size, 240u);
    CHECK_EQ(in.is_nms, 0);

    hs_io_info_t d;
    REQUIRE_OK(hs_model_io_info(l.m, 1, 0, &d));
    CHECK_EQ(std::string(d.name), std::string("fake_depth/conv31"));
    CHECK_EQ(d.format_type, HS_FORMAT_TYPE_UINT16);
    CHECK_EQ(d.frame_size, 160u);
    CHECK_EQ(d.quant_count, 1u);
    CHECK(std::fabs(d.qp_scale - 0.01f) < 1e-7f);
    CHECK_EQ(d.qp_zp, 100.f);
    CHECK_EQ(d.limvals_min, -1.f);

    hs_io_info_t f;
    REQUIRE_OK(hs_model_io_info(l.m, 1, 1, &f));
    CHECK_EQ(f.quant_count, 4u);  // per-channel
    CHECK_EQ(f.qp_scale, 0.5f);
    hs_quant_t q[4];
    uint32_t n = 0;
    CHECK_OK(hs_model_quant_infos(l.m, 1, 1, q, 4, &n));
    CHECK_EQ(n, 4u);
    CHECK_EQ(q[1].qp_scale, 0.25f);
    CHECK_EQ(q[1].qp_zp, 10.f);
    CHECK_EQ(q[2].qp_zp, 128.f);
    CHECK_EQ(q[3].qp_scale, 1.f);
    CHECK_ST(hs_model_quant_infos(l.m, 1, 1, q, 2, &n), HS_STATUS_BUFFER_TOO_SMALL);
    CHECK_EQ(n, 4u);
    CHECK_OK(hs_model_quant_infos(l.m, 0, 0, q, 4, &n));
    CHECK_EQ(n, 1u);

    CHECK_ST(hs_model_io_info(l.m, 1, 2, &f), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_io_info(l.m, 0, 1, &f), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_quant_infos(l.m, 0, 5, q, 4, &n), HS_STATUS_INVALID_ARGUMENT);
}

TEST(vision_infer_sizes_and_outputs) {
    Loaded l;
    REQUIRE_OK(load(l, "vision_depth.json"));
    std::vector<uint8_t> in(240, 7);
    std::vector<uint16_t> depth(80, 0);
    std::vector<uint8_t> feat(16, 0);
    const void *ins[] = {in.data()};
    size_t in_sz[] = {in.size()};
    void *outs[] = {depth.data(), feat.data()};
    size_t out_sz[] = {depth.size() * 2, feat.size()};
    CHECK_OK(hs_model_infer(l.m, ins, in_sz, 1, outs, out_sz, 2, 1000));
    CHECK_EQ(depth[0], 100);
    CHECK_EQ(depth[1], 200);
    CHECK_EQ(depth[2], 300);
    CHECK_EQ(depth[3], 65535);
    CHECK_EQ(depth[4], 1100);  // fill
    CHECK_EQ(depth[79], 1100);
    for (size_t i = 0; i < feat.size(); ++i) CHECK_EQ(feat[i], static_cast<uint8_t>(i));  // ramp

    // Wrong sizes are rejected before anything runs.
    size_t bad_in[] = {239};
    CHECK_ST(hs_model_infer(l.m, ins, bad_in, 1, outs, out_sz, 2, 1000), HS_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(hs_last_error()).find("frame size is 240") != std::string::npos);
    size_t bad_out[] = {160, 17};
    CHECK_ST(hs_model_infer(l.m, ins, in_sz, 1, outs, bad_out, 2, 1000), HS_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(hs_last_error()).find("fake_depth/features") != std::string::npos);
    CHECK_ST(hs_model_infer(l.m, ins, in_sz, 1, outs, out_sz, 1, 1000), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_infer(l.m, ins, in_sz, 0, outs, out_sz, 2, 1000), HS_STATUS_INVALID_ARGUMENT);
    void *null_outs[] = {depth.data(), nullptr};
    CHECK_ST(hs_model_infer(l.m, ins, in_sz, 1, null_outs, out_sz, 2, 1000), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_infer(l.m, nullptr, in_sz, 1, outs, out_sz, 2, 1000), HS_STATUS_INVALID_ARGUMENT);
}

TEST(vision_float32_output) {
    Loaded l;
    hs_model_params_t p = hs_model_default_params();
    p.output_format_type = HS_FORMAT_TYPE_FLOAT32;
    p.batch_size = 2;
    p.scheduler_priority = 31;
    REQUIRE_OK(load(l, "vision_depth.json", &p));
    hs_io_info_t d, f;
    REQUIRE_OK(hs_model_io_info(l.m, 1, 0, &d));
    REQUIRE_OK(hs_model_io_info(l.m, 1, 1, &f));
    CHECK_EQ(d.format_type, HS_FORMAT_TYPE_FLOAT32);
    CHECK_EQ(d.frame_size, 320u);
    CHECK_EQ(f.frame_size, 64u);
    std::vector<uint8_t> in(240, 1);
    std::vector<float> depth(80), feat(16);
    const void *ins[] = {in.data()};
    size_t in_sz[] = {240};
    void *outs[] = {depth.data(), feat.data()};
    size_t out_sz[] = {320, 64};
    REQUIRE_OK(hs_model_infer(l.m, ins, in_sz, 1, outs, out_sz, 2, 1000));
    CHECK(std::fabs(depth[0] - 0.0f) < 1e-5f);   // (100 - 100) * 0.01
    CHECK(std::fabs(depth[1] - 1.0f) < 1e-5f);   // (200 - 100) * 0.01
    CHECK(std::fabs(depth[4] - 10.0f) < 1e-4f);  // (1100 - 100) * 0.01
    // Per-channel: element i has channel i % 4 and raw value i.
    CHECK(std::fabs(feat[0] - 0.0f) < 1e-6f);            // (0 - 0) * 0.5
    CHECK(std::fabs(feat[1] - (1 - 10) * 0.25f) < 1e-6f);
    CHECK(std::fabs(feat[2] - (2 - 128) * 2.0f) < 1e-6f);
    CHECK(std::fabs(feat[7] - (7 - 1) * 1.0f) < 1e-6f);
    CHECK(std::fabs(feat[8] - 4.0f) < 1e-6f);            // (8 - 0) * 0.5

    // Invalid parameters are rejected.
    hs_model *m2 = nullptr;
    hs_model_params_t bad = hs_model_default_params();
    bad.scheduler_priority = 32;
    CHECK_ST(hs_model_load(l.vd, hst::fixture("vision_depth.json").c_str(), &bad, &m2), HS_STATUS_INVALID_ARGUMENT);
    bad = hs_model_default_params();
    bad.batch_size = 0;
    CHECK_ST(hs_model_load(l.vd, hst::fixture("vision_depth.json").c_str(), &bad, &m2), HS_STATUS_INVALID_ARGUMENT);
    bad = hs_model_default_params();
    bad.output_format_type = 9;
    CHECK_ST(hs_model_load(l.vd, hst::fixture("vision_depth.json").c_str(), &bad, &m2), HS_STATUS_INVALID_ARGUMENT);
    CHECK(m2 == nullptr);
}

TEST(vision_nms_output) {
    Loaded l;
    REQUIRE_OK(load(l, "vision_nms.json"));
    hs_io_info_t o;
    REQUIRE_OK(hs_model_io_info(l.m, 1, 0, &o));
    CHECK_EQ(o.is_nms, 1);
    CHECK_EQ(o.format_order, HS_FORMAT_ORDER_HAILO_NMS_BY_CLASS);
    CHECK_EQ(o.format_type, HS_FORMAT_TYPE_FLOAT32);
    CHECK_EQ(o.nms_number_of_classes, 2u);
    CHECK_EQ(o.nms_max_bboxes_per_class, 2u);
    CHECK_EQ(o.nms_max_bboxes_total, 4u);
    CHECK_EQ(o.frame_size, 88u);  // 2 classes x (1 + 2 x 5) floats
    std::vector<uint8_t> in(32 * 32 * 3, 0);
    std::vector<float> out(22, -1.f);
    const void *ins[] = {in.data()};
    size_t in_sz[] = {in.size()};
    void *outs[] = {out.data()};
    size_t out_sz[] = {88};
    REQUIRE_OK(hs_model_infer(l.m, ins, in_sz, 1, outs, out_sz, 1, HS_TIMEOUT_DEFAULT));
    CHECK_EQ(out[0], 1.0f);  // class 0: one box
    CHECK(std::fabs(out[1] - 0.1f) < 1e-6f);
    CHECK(std::fabs(out[5] - 0.9f) < 1e-6f);  // score
    CHECK_EQ(out[11], 0.0f);  // class 1: no boxes
}

TEST(vision_hef_resolution) {
    Loaded l;
    REQUIRE_OK(hs_vdevice_open(nullptr, &l.vd));
    // tiny.hef is not JSON: the fake reads tiny.hef.fake.json next to it.
    REQUIRE_OK(hs_model_load(l.vd, hst::fixture("tiny.hef").c_str(), nullptr, &l.m));
    hs_io_info_t i;
    CHECK_OK(hs_model_io_info(l.m, 0, 0, &i));
    CHECK_EQ(std::string(i.name), std::string("tiny/in"));
    CHECK_EQ(i.format_order, HS_FORMAT_ORDER_NC);
    CHECK_EQ(i.frame_size, 4u);

    hs_model *m = nullptr;
    CHECK_ST(hs_model_load(l.vd, hst::fixture("missing.hef").c_str(), nullptr, &m), HS_STATUS_OPEN_FILE_FAILURE);
    CHECK_ST(hs_model_load(l.vd, hst::fixture("llm.json").c_str(), nullptr, &m), HS_STATUS_INVALID_HEF);
    CHECK(std::string(hs_last_error()).find("expected 'vision'") != std::string::npos);
    // A binary file without a sidecar.
    std::string bin = hst::scratch_dir() + "/real.hef";
    {
        std::ofstream f(bin, std::ios::binary);
        f << std::string("\x01\x02HEF", 5);
    }
    CHECK_ST(hs_model_load(l.vd, bin.c_str(), nullptr, &m), HS_STATUS_INVALID_HEF);
    // Broken JSON.
    std::string broken = hst::scratch_dir() + "/broken.json";
    {
        std::ofstream f(broken);
        f << "{\"kind\": \"vision\", \"inputs\": [";
    }
    CHECK_ST(hs_model_load(l.vd, broken.c_str(), nullptr, &m), HS_STATUS_INVALID_HEF);
    CHECK_ST(hs_model_load(l.vd, nullptr, nullptr, &m), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_model_load(l.vd, "", nullptr, &m), HS_STATUS_INVALID_ARGUMENT);
    CHECK(m == nullptr);
}

TEST(vision_copy_input) {
    // The output is channel 2 of the second input: a host that swaps its inputs sees the other image.
    Loaded l;
    REQUIRE_OK(load(l, "vision_stereo.json"));
    std::vector<uint8_t> a(18), b(18);
    for (size_t i = 0; i < 18; ++i) {
        a[i] = static_cast<uint8_t>(100 + i);
        b[i] = static_cast<uint8_t>(i);
    }
    std::vector<uint8_t> out(6, 0);
    const void *ins[] = {a.data(), b.data()};
    size_t in_sz[] = {18, 18};
    void *outs[] = {out.data()};
    size_t out_sz[] = {6};
    CHECK_OK(hs_model_infer(l.m, ins, in_sz, 2, outs, out_sz, 1, 1000));
    for (size_t p = 0; p < 6; ++p) CHECK_EQ(out[p], static_cast<uint8_t>(3 * p + 2));

    // Each frame copies the frame it is given, not the first one.
    b.assign(18, 9);
    CHECK_OK(hs_model_infer(l.m, ins, in_sz, 2, outs, out_sz, 1, 1000));
    CHECK_EQ(out[0], 9);

    // De-quantised on request: (9 - 2) * 0.5.
    Loaded f;
    hs_model_params_t p = hs_model_default_params();
    p.output_format_type = HS_FORMAT_TYPE_FLOAT32;
    REQUIRE_OK(load(f, "vision_stereo.json", &p));
    std::vector<float> fl(6, 0.f);
    void *fouts[] = {fl.data()};
    size_t fout_sz[] = {24};
    CHECK_OK(hs_model_infer(f.m, ins, in_sz, 2, fouts, fout_sz, 1, 1000));
    CHECK_EQ(fl[5], 3.5f);
}
