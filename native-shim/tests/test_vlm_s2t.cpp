// VLM frame spec + generation, Speech2Text segments.
#include "hs_test.hpp"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string read_text(hs_completion *c, int32_t &final_status) {
    std::string text;
    char buf[128];
    final_status = -1;
    for (int i = 0; i < 1000; ++i) {
        size_t len = 0;
        int32_t gs = 0;
        if (hs_completion_read(c, buf, sizeof buf, 2000, &len, &gs) != 0) break;
        text.append(buf, len);
        if (gs != HS_GEN_GENERATING) {
            final_status = gs;
            break;
        }
    }
    return text;
}

std::vector<float> tone(double seconds, float amplitude) {
    std::vector<float> v(static_cast<size_t>(seconds * 16000));
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = amplitude * static_cast<float>(std::sin(2.0 * M_PI * 440.0 * static_cast<double>(i) / 16000.0));
    return v;
}

}  // namespace

TEST(vlm_frame_spec_and_generate) {
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    hs_vlm *vlm = nullptr;
    REQUIRE_OK(hs_vlm_create(vd, hst::fixture("vlm.json").c_str(), nullptr, &vlm));
    hs_frame_spec_t spec;
    REQUIRE_OK(hs_vlm_frame_spec(vlm, &spec));
    CHECK_EQ(spec.height, 4u);
    CHECK_EQ(spec.width, 4u);
    CHECK_EQ(spec.features, 3u);
    CHECK_EQ(spec.format_type, HS_FORMAT_TYPE_UINT8);
    CHECK_EQ(spec.format_order, HS_FORMAT_ORDER_NHWC);
    CHECK_EQ(spec.frame_size, 48u);

    hs_gen_params_t d;
    CHECK_OK(hs_vlm_generation_defaults(vlm, &d));
    CHECK_EQ(d.max_generated_tokens, 64u);

    std::vector<uint8_t> frame(48, 10);
    const void *frames[] = {frame.data()};
    size_t sizes[] = {48};
    const char *msgs =
        R"([{"role":"user","content":[{"type":"image"},{"type":"text","text":"What is this?"}]}])";
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_vlm_generate_start(vlm, nullptr, msgs, frames, sizes, 1, &c));
    int32_t fs = 0;
    CHECK_EQ(read_text(c, fs), std::string("<image0:mean=10> What is this?"));
    CHECK_EQ(fs, HS_GEN_LOGICAL_END);
    CHECK_OK(hs_completion_free(c));
    uint32_t max_ctx = 0, used = 0;
    CHECK_OK(hs_vlm_context_info(vlm, &max_ctx, &used));
    CHECK_EQ(max_ctx, 256u);
    CHECK_EQ(used, 8u + 4u + 4u);  // image tokens + "user: What is this?" + 4 generated

    // Frames are checked against the spec and against the messages.
    size_t bad[] = {47};
    CHECK_ST(hs_vlm_generate_start(vlm, nullptr, msgs, frames, bad, 1, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(hs_last_error()).find("wants 48") != std::string::npos);
    CHECK_ST(hs_vlm_generate_start(vlm, nullptr, msgs, nullptr, nullptr, 0, &c), HS_STATUS_INVALID_ARGUMENT);
    const char *two = R"([{"role":"user","content":[{"type":"image"},{"type":"image"},{"type":"text","text":"x"}]}])";
    CHECK_ST(hs_vlm_generate_start(vlm, nullptr, two, frames, sizes, 1, &c), HS_STATUS_INVALID_ARGUMENT);
    const void *null_frame[] = {nullptr};
    CHECK_ST(hs_vlm_generate_start(vlm, nullptr, msgs, null_frame, sizes, 1, &c), HS_STATUS_INVALID_ARGUMENT);

    // Two frames with different content; text-only turn; clear.
    std::vector<uint8_t> frame2(48, 200);
    const void *frames2[] = {frame.data(), frame2.data()};
    size_t sizes2[] = {48, 48};
    REQUIRE_OK(hs_vlm_generate_start(vlm, nullptr, two, frames2, sizes2, 2, &c));
    CHECK_EQ(read_text(c, fs), std::string("<image0:mean=10> <image1:mean=200> x"));
    CHECK_ST(hs_vlm_clear_context(vlm), HS_STATUS_INVALID_OPERATION);
    CHECK_OK(hs_completion_free(c));
    CHECK_OK(hs_vlm_clear_context(vlm));
    CHECK_OK(hs_vlm_context_info(vlm, &max_ctx, &used));
    CHECK_EQ(used, 0u);
    REQUIRE_OK(hs_vlm_generate_start(vlm, nullptr, R"([{"role":"user","content":"just text"}])", nullptr, nullptr, 0, &c));
    CHECK_EQ(read_text(c, fs), std::string("just text"));
    CHECK_OK(hs_completion_free(c));
    CHECK_OK(hs_vlm_destroy(vlm));
    CHECK_OK(hs_vdevice_close(vd));
}

TEST(s2t_silence) {
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    hs_s2t *s2t = nullptr;
    REQUIRE_OK(hs_s2t_create(vd, hst::fixture("s2t.json").c_str(), &s2t));
    std::vector<float> silence(2 * 16000, 0.f);
    hs_segments *segs = nullptr;
    REQUIRE_OK(hs_s2t_transcribe(s2t, silence.data(), silence.size(), nullptr, &segs));
    uint32_t n = 99;
    CHECK_OK(hs_segments_count(segs, &n));
    CHECK_EQ(n, 0u);
    float a, b;
    const char *text = nullptr;
    size_t len = 0;
    CHECK_ST(hs_segment_get(segs, 0, &a, &b, &text, &len), HS_STATUS_INVALID_ARGUMENT);
    CHECK_OK(hs_segments_free(segs));
    CHECK_OK(hs_s2t_destroy(s2t));
    CHECK_OK(hs_vdevice_close(vd));
}

TEST(s2t_speech_segments) {
    hs_vdevice *vd = nullptr;
    REQUIRE_OK(hs_vdevice_open(nullptr, &vd));
    hs_s2t *s2t = nullptr;
    REQUIRE_OK(hs_s2t_create(vd, hst::fixture("s2t.json").c_str(), &s2t));  // 1 s per segment

    std::vector<float> pcm = tone(2.5, 0.5f);
    hs_segments *segs = nullptr;
    REQUIRE_OK(hs_s2t_transcribe(s2t, pcm.data(), pcm.size(), nullptr, &segs));
    uint32_t n = 0;
    CHECK_OK(hs_segments_count(segs, &n));
    REQUIRE(n == 3);
    float start = -1, end = -1;
    const char *text = nullptr;
    size_t len = 0;
    CHECK_OK(hs_segment_get(segs, 0, &start, &end, &text, &len));
    CHECK_EQ(start, 0.f);
    CHECK_EQ(end, 1.f);
    CHECK_EQ(std::string(text), std::string("hello from the fake recogniser"));
    CHECK_EQ(len, std::strlen(text));
    CHECK_OK(hs_segment_get(segs, 2, &start, &end, &text, &len));
    CHECK_EQ(start, 2.f);
    CHECK(std::fabs(end - 2.5f) < 1e-6f);
    CHECK_EQ(std::string(text), std::string("third segment"));
    CHECK_OK(hs_segment_get(segs, 1, nullptr, nullptr, &text, nullptr));  // optional outputs
    CHECK_EQ(std::string(text), std::string("second segment"));
    CHECK_ST(hs_segment_get(segs, 3, &start, &end, &text, &len), HS_STATUS_INVALID_ARGUMENT);
    CHECK_OK(hs_segments_free(segs));

    // Speech, silence, speech: the silent second produces no segment.
    std::vector<float> mixed = tone(1.0, 0.3f);
    mixed.resize(32000, 0.f);
    std::vector<float> more = tone(1.0, 0.3f);
    mixed.insert(mixed.end(), more.begin(), more.end());
    REQUIRE_OK(hs_s2t_transcribe(s2t, mixed.data(), mixed.size(), nullptr, &segs));
    CHECK_OK(hs_segments_count(segs, &n));
    REQUIRE(n == 2);
    CHECK_OK(hs_segment_get(segs, 1, &start, &end, &text, &len));
    CHECK_EQ(start, 2.f);
    CHECK_EQ(std::string(text), std::string("second segment"));
    CHECK_OK(hs_segments_free(segs));

    // Task and language.
    hs_s2t_params_t p = hs_s2t_default_params();
    p.task = HS_S2T_TASK_TRANSLATE;
    std::strcpy(p.language, "de");
    REQUIRE_OK(hs_s2t_transcribe(s2t, pcm.data(), 16000, &p, &segs));
    CHECK_OK(hs_segment_get(segs, 0, &start, &end, &text, &len));
    CHECK_EQ(std::string(text), std::string("[translated] hello from the fake recogniser"));
    CHECK_OK(hs_segments_free(segs));
    p.task = HS_S2T_TASK_TRANSCRIBE;
    REQUIRE_OK(hs_s2t_transcribe(s2t, pcm.data(), 16000, &p, &segs));
    CHECK_OK(hs_segment_get(segs, 0, &start, &end, &text, &len));
    CHECK_EQ(std::string(text), std::string("[de] hello from the fake recogniser"));
    CHECK_OK(hs_segments_free(segs));

    std::strcpy(p.language, "EN");
    CHECK_ST(hs_s2t_transcribe(s2t, pcm.data(), 16000, &p, &segs), HS_STATUS_INVALID_ARGUMENT);
    std::strcpy(p.language, "english");
    CHECK_ST(hs_s2t_transcribe(s2t, pcm.data(), 16000, &p, &segs), HS_STATUS_INVALID_ARGUMENT);
    p = hs_s2t_default_params();
    p.task = 5;
    CHECK_ST(hs_s2t_transcribe(s2t, pcm.data(), 16000, &p, &segs), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_s2t_transcribe(s2t, pcm.data(), 0, nullptr, &segs), HS_STATUS_INVALID_ARGUMENT);
    CHECK(segs == nullptr);
    CHECK_OK(hs_s2t_destroy(s2t));
    CHECK_OK(hs_vdevice_close(vd));
}
