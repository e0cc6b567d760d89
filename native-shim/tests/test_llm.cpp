// LLM: streaming, max tokens, stop tokens, abort from another thread, context
// accounting and overflow, tokenize, template, UTF-8 piece boundaries.
#include "hs_test.hpp"

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Llm {
    hs_vdevice *vd = nullptr;
    hs_llm *llm = nullptr;
    ~Llm() {
        if (llm) hs_llm_destroy(llm);
        if (vd) hs_vdevice_close(vd);
    }
};

int32_t open_llm(Llm &l, const char *fixture) {
    int32_t st = hs_vdevice_open(nullptr, &l.vd);
    if (st) return st;
    return hs_llm_create(l.vd, hst::fixture(fixture).c_str(), nullptr, &l.llm);
}

struct Stream {
    std::vector<std::string> pieces;
    std::string text;
    int32_t final_status = -1;
    int32_t error = 0;
};

// Reads until a final generation status (or an error), with a buffer of `cap` bytes.
Stream read_all(hs_completion *c, size_t cap = 256, uint32_t timeout_ms = 5000) {
    Stream s;
    std::vector<char> buf(cap);
    for (int guard = 0; guard < 10000; ++guard) {
        size_t len = 0;
        int32_t gs = 0;
        int32_t st = hs_completion_read(c, buf.data(), buf.size(), timeout_ms, &len, &gs);
        if (st) {
            s.error = st;
            return s;
        }
        if (len) {
            s.pieces.emplace_back(buf.data(), len);
            s.text.append(buf.data(), len);
        }
        if (gs != HS_GEN_GENERATING) {
            s.final_status = gs;
            return s;
        }
    }
    return s;
}

bool valid_utf8(const std::string &s) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (size_t k = 1; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

}  // namespace

TEST(llm_stream_raw_prompt) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm.json"));
    uint32_t max_ctx = 0, used = 99;
    CHECK_OK(hs_llm_context_info(l.llm, &max_ctx, &used));
    CHECK_EQ(max_ctx, 64u);
    CHECK_EQ(used, 0u);
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "Hello brave new world", nullptr, nullptr, &c));
    Stream s = read_all(c);
    CHECK_EQ(s.error, 0);
    CHECK_EQ(s.final_status, HS_GEN_LOGICAL_END);
    REQUIRE(s.pieces.size() == 4);
    CHECK_EQ(s.pieces[0], std::string("Hello"));
    CHECK_EQ(s.pieces[1], std::string(" brave"));
    CHECK_EQ(s.pieces[3], std::string(" world"));
    CHECK_EQ(s.text, std::string("Hello brave new world"));
    // Reading after the end keeps reporting the final status with no text.
    char buf[8];
    size_t len = 1;
    int32_t gs = 0;
    CHECK_OK(hs_completion_read(c, buf, sizeof buf, 100, &len, &gs));
    CHECK_EQ(len, 0u);
    CHECK_EQ(gs, HS_GEN_LOGICAL_END);
    CHECK_OK(hs_completion_abort(c));  // no-op once finished
    CHECK_OK(hs_completion_free(c));
    CHECK_OK(hs_llm_context_info(l.llm, &max_ctx, &used));
    CHECK_EQ(used, 8u);  // 4 prompt + 4 generated tokens
}

TEST(llm_messages_and_tools) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm.json"));
    const char *msgs =
        R"([{"role":"system","content":"You are terse."},{"role":"user","content":"Say h\u00e9llo please"}])";
    const char *tools = R"([{"type":"function","function":{"name":"get_time","parameters":{}}}])";
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, nullptr, msgs, tools, &c));
    Stream s = read_all(c);
    CHECK_EQ(s.text, std::string("Say h\xC3\xA9llo please"));  // echo of the last user message
    CHECK_EQ(s.final_status, HS_GEN_LOGICAL_END);
    CHECK_OK(hs_completion_free(c));
    // System messages / tools are accepted only on a fresh context (as in HailoRT 5.2).
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, nullptr, msgs, nullptr, &c), HS_STATUS_INVALID_OPERATION);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, nullptr, R"([{"role":"user","content":"x"}])", tools, &c),
             HS_STATUS_INVALID_OPERATION);
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, nullptr, R"([{"role":"user","content":"next turn"}])", nullptr, &c));
    CHECK_EQ(read_all(c).text, std::string("next turn"));
    CHECK_OK(hs_completion_free(c));
    CHECK_OK(hs_llm_clear_context(l.llm));
    CHECK_OK(hs_llm_generate_start(l.llm, nullptr, nullptr, msgs, nullptr, &c));
    CHECK_OK(hs_completion_free(c));

    // Argument errors.
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, "raw", msgs, nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, nullptr, nullptr, nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, "raw", nullptr, tools, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, nullptr, "[{\"role\":", nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(hs_last_error()).find("not valid JSON") != std::string::npos);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, nullptr, R"({"role":"user"})", nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, nullptr, "[]", nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, nullptr, "[\"text\"]", nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, "", nullptr, nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    hs_gen_params_t bad = hs_gen_default_params();
    bad.top_p = 1.5f;
    CHECK_ST(hs_llm_generate_start(l.llm, &bad, "raw", nullptr, nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK(c == nullptr);
}

TEST(llm_max_tokens) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm.json"));
    hs_gen_params_t p = hs_gen_default_params();
    p.max_generated_tokens = 2;
    p.temperature = 0.f;
    p.do_sample = 0;
    p.use_seed = 1;
    p.seed = 7;
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, &p, "one two three four five", nullptr, nullptr, &c));
    Stream s = read_all(c);
    CHECK_EQ(s.final_status, HS_GEN_MAX_TOKENS_REACHED);
    CHECK_EQ(s.text, std::string("one two"));
    CHECK_OK(hs_completion_free(c));
    // The model default (32) applies without params.
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "a b c", nullptr, nullptr, &c));
    CHECK_EQ(read_all(c).final_status, HS_GEN_LOGICAL_END);
    CHECK_OK(hs_completion_free(c));
}

TEST(llm_stop_and_end_tokens) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm.json"));
    char buf[64];
    size_t len = 0;
    CHECK_OK(hs_llm_get_stop_tokens(l.llm, buf, sizeof buf, &len));
    CHECK_EQ(std::string(buf), std::string("[]"));
    CHECK_OK(hs_llm_set_stop_tokens(l.llm, R"(["STOP","<|im_end|>"])"));
    CHECK_OK(hs_llm_get_stop_tokens(l.llm, buf, sizeof buf, &len));
    CHECK_EQ(std::string(buf), std::string(R"(["STOP","<|im_end|>"])"));
    CHECK_EQ(len, std::strlen(buf));
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "one two STOP three", nullptr, nullptr, &c));
    Stream s = read_all(c);
    CHECK_EQ(s.text, std::string("one two STOP"));
    CHECK_EQ(s.final_status, HS_GEN_LOGICAL_END);
    CHECK_OK(hs_completion_free(c));
    CHECK_ST(hs_llm_set_stop_tokens(l.llm, "[1]"), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_set_stop_tokens(l.llm, "[\"\"]"), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_set_stop_tokens(l.llm, nullptr), HS_STATUS_INVALID_ARGUMENT);
    CHECK_ST(hs_llm_get_stop_tokens(l.llm, buf, 4, &len), HS_STATUS_BUFFER_TOO_SMALL);
    CHECK_EQ(len, std::strlen(R"(["STOP","<|im_end|>"])"));

    // A model with an end-of-turn token ends with it (like real chat models).
    Llm e;
    REQUIRE_OK(hs_llm_destroy(l.llm));
    l.llm = nullptr;
    REQUIRE_OK(hs_llm_create(l.vd, hst::fixture("llm_end.json").c_str(), nullptr, &e.llm));
    REQUIRE_OK(hs_llm_generate_start(e.llm, nullptr, "hi", nullptr, nullptr, &c));
    s = read_all(c);
    CHECK_EQ(s.text, std::string("hi<|im_end|>"));  // the end token follows directly
    CHECK_EQ(s.final_status, HS_GEN_LOGICAL_END);
    CHECK_OK(hs_completion_free(c));
}

TEST(llm_abort_while_reader_blocks) {  // threads
    Llm l;
    REQUIRE_OK(open_llm(l, "llm_slow.json"));  // one token per 60 s
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "this will never finish in time", nullptr, nullptr, &c));
    std::atomic<int32_t> st{-1}, gs{-1};
    std::atomic<size_t> len{99};
    std::atomic<bool> reading{false};
    auto t0 = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point t1;
    std::thread reader([&] {
        char buf[64];
        size_t n = 0;
        int32_t g = 0;
        reading = true;
        st = hs_completion_read(c, buf, sizeof buf, HS_TIMEOUT_INFINITE, &n, &g);
        t1 = std::chrono::steady_clock::now();
        len = n;
        gs = g;
    });
    while (!reading) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    CHECK_EQ(st.load(), -1);  // still blocked
    CHECK_OK(hs_completion_abort(c));
    reader.join();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count();
    CHECK_OK(st.load());
    CHECK_EQ(gs.load(), HS_GEN_ABORTED);
    CHECK_EQ(len.load(), 0u);
    CHECK(ms >= 100 && ms < 5000);
    CHECK_OK(hs_completion_abort(c));  // idempotent
    CHECK_OK(hs_completion_free(c));
}

TEST(llm_read_timeout_then_abort) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm_slow.json"));
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "slow words", nullptr, nullptr, &c));
    char buf[32];
    size_t len = 0;
    int32_t gs = 0;
    auto t0 = std::chrono::steady_clock::now();
    CHECK_ST(hs_completion_read(c, buf, sizeof buf, 50, &len, &gs), HS_STATUS_TIMEOUT);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    CHECK(ms >= 40 && ms < 2000);
    CHECK_EQ(len, 0u);
    // A timeout is not fatal: abort, then read the final status.
    CHECK_OK(hs_completion_abort(c));
    CHECK_OK(hs_completion_read(c, buf, sizeof buf, 50, &len, &gs));
    CHECK_EQ(gs, HS_GEN_ABORTED);
    // A free without reading to the end is fine too.
    CHECK_OK(hs_completion_free(c));
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "again", nullptr, nullptr, &c));
    CHECK_OK(hs_completion_free(c));  // aborts the running generation
}

TEST(llm_one_completion_at_a_time_and_clear_context) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm.json"));
    hs_completion *c1 = nullptr, *c2 = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "first answer", nullptr, nullptr, &c1));
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, "second", nullptr, nullptr, &c2), HS_STATUS_INVALID_OPERATION);
    CHECK(c2 == nullptr);
    CHECK_ST(hs_llm_clear_context(l.llm), HS_STATUS_INVALID_OPERATION);
    CHECK_EQ(read_all(c1).text, std::string("first answer"));
    CHECK_ST(hs_llm_clear_context(l.llm), HS_STATUS_INVALID_OPERATION);  // still alive until freed
    CHECK_OK(hs_completion_free(c1));
    uint32_t max_ctx = 0, used = 0;
    CHECK_OK(hs_llm_context_info(l.llm, &max_ctx, &used));
    CHECK_EQ(used, 4u);
    CHECK_OK(hs_llm_clear_context(l.llm));
    CHECK_OK(hs_llm_context_info(l.llm, &max_ctx, &used));
    CHECK_EQ(used, 0u);
    CHECK_OK(hs_llm_generate_start(l.llm, nullptr, "second", nullptr, nullptr, &c2));
    CHECK_OK(hs_completion_free(c2));
}

TEST(llm_context_overflow) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm.json"));  // context 64
    std::string big;
    for (int i = 0; i < 70; ++i) big += "w" + std::to_string(i) + " ";
    hs_completion *c = nullptr;
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, big.c_str(), nullptr, nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK(std::string(hs_last_error()).find("does not fit the context") != std::string::npos);
    uint32_t max_ctx = 0, used = 0;
    CHECK_OK(hs_llm_context_info(l.llm, &max_ctx, &used));
    CHECK_EQ(used, 0u);  // nothing consumed by the rejected prompt
    // 60 prompt tokens leave room for 4 generated ones; then the context is full.
    std::string sixty;
    for (int i = 0; i < 60; ++i) sixty += "t" + std::to_string(i) + " ";
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, sixty.c_str(), nullptr, nullptr, &c));
    Stream s = read_all(c);
    CHECK_EQ(s.pieces.size(), 4u);
    CHECK_EQ(s.final_status, HS_GEN_MAX_TOKENS_REACHED);
    CHECK_OK(hs_completion_free(c));
    CHECK_OK(hs_llm_context_info(l.llm, &max_ctx, &used));
    CHECK_EQ(used, 64u);
    CHECK_ST(hs_llm_generate_start(l.llm, nullptr, "more", nullptr, nullptr, &c), HS_STATUS_INVALID_ARGUMENT);
    CHECK_OK(hs_llm_clear_context(l.llm));
    CHECK_OK(hs_llm_generate_start(l.llm, nullptr, "more", nullptr, nullptr, &c));
    CHECK_OK(hs_completion_free(c));
}

TEST(llm_tokenize_template_defaults) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm.json"));
    int32_t ids[8];
    size_t n = 0;
    CHECK_OK(hs_llm_tokenize(l.llm, "Hello brave world", ids, 8, &n));
    CHECK_EQ(n, 3u);
    int32_t ids2[8];
    size_t n2 = 0;
    CHECK_OK(hs_llm_tokenize(l.llm, "Hello brave world", ids2, 8, &n2));
    CHECK(n2 == 3 && std::memcmp(ids, ids2, sizeof(int32_t) * 3) == 0);  // deterministic
    CHECK(ids[0] != ids[1] && ids[0] > 0 && ids[0] < 32000);
    CHECK_ST(hs_llm_tokenize(l.llm, "a b c d", nullptr, 0, &n), HS_STATUS_BUFFER_TOO_SMALL);
    CHECK_EQ(n, 4u);
    CHECK_OK(hs_llm_tokenize(l.llm, "", ids, 8, &n));
    CHECK_EQ(n, 0u);
    CHECK_ST(hs_llm_tokenize(l.llm, nullptr, ids, 8, &n), HS_STATUS_INVALID_ARGUMENT);

    size_t len = 0;
    CHECK_ST(hs_llm_prompt_template(l.llm, nullptr, 0, &len), HS_STATUS_BUFFER_TOO_SMALL);
    REQUIRE(len > 20);
    std::vector<char> buf(len + 1);
    CHECK_OK(hs_llm_prompt_template(l.llm, buf.data(), buf.size(), &len));
    CHECK(std::string(buf.data()).find("<|im_start|>assistant") != std::string::npos);
    char small[8];
    CHECK_ST(hs_llm_prompt_template(l.llm, small, sizeof small, &len), HS_STATUS_BUFFER_TOO_SMALL);
    CHECK_EQ(std::strlen(small), 7u);  // truncated copy, NUL-terminated

    hs_gen_params_t d;
    CHECK_OK(hs_llm_generation_defaults(l.llm, &d));
    CHECK_EQ(d.max_generated_tokens, 32u);
    CHECK_EQ(d.top_k, 20u);
    CHECK(d.temperature > 0.69f && d.temperature < 0.71f);
    CHECK_EQ(d.do_sample, 1);
    CHECK_EQ(d.seed, 42u);
}

TEST(llm_utf8_never_split) {
    Llm l;
    REQUIRE_OK(open_llm(l, "llm_utf8.json"));  // the fake hands multi-byte tokens out byte by byte
    const std::string prompt = "h\xC3\xA9llo w\xC3\xB6rld \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E end";
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, prompt.c_str(), nullptr, nullptr, &c));
    Stream s = read_all(c);
    CHECK_EQ(s.error, 0);
    CHECK_EQ(s.text, prompt);
    for (const auto &p : s.pieces) CHECK(valid_utf8(p));
    CHECK_OK(hs_completion_free(c));

    // A tiny buffer: pieces are cut on character boundaries, never inside one.
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, prompt.c_str(), nullptr, nullptr, &c));
    Stream t = read_all(c, 4);  // 3 bytes + NUL
    CHECK_EQ(t.error, HS_STATUS_BUFFER_TOO_SMALL);  // the 4-byte emoji does not fit
    std::string got = t.text;
    for (const auto &p : t.pieces) CHECK(valid_utf8(p) && p.size() <= 3);
    Stream rest = read_all(c, 5);  // 4 bytes + NUL is enough for any character
    CHECK_EQ(rest.error, 0);
    got += rest.text;
    for (const auto &p : rest.pieces) CHECK(valid_utf8(p) && p.size() <= 4);
    CHECK_EQ(got, prompt);
    CHECK_EQ(rest.final_status, HS_GEN_LOGICAL_END);
    CHECK_OK(hs_completion_free(c));

    char one[1];
    size_t len = 0;
    int32_t gs = 0;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "x", nullptr, nullptr, &c));
    CHECK_ST(hs_completion_read(c, one, 1, 100, &len, &gs), HS_STATUS_BUFFER_TOO_SMALL);  // room for the NUL only
    CHECK_ST(hs_completion_read(c, one, 0, 100, &len, &gs), HS_STATUS_INVALID_ARGUMENT);
    CHECK_OK(hs_completion_free(c));
}

TEST(llm_concurrent_readers_rejected) {  // threads
    Llm l;
    REQUIRE_OK(open_llm(l, "llm_slow.json"));
    hs_completion *c = nullptr;
    REQUIRE_OK(hs_llm_generate_start(l.llm, nullptr, "x y", nullptr, nullptr, &c));
    std::atomic<bool> started{false};
    std::thread reader([&] {
        char buf[16];
        size_t n = 0;
        int32_t g = 0;
        started = true;
        hs_completion_read(c, buf, sizeof buf, 3000, &n, &g);
    });
    while (!started) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    char buf[16];
    size_t n = 0;
    int32_t g = 0;
    CHECK_ST(hs_completion_read(c, buf, sizeof buf, 10, &n, &g), HS_STATUS_INVALID_OPERATION);
    CHECK_OK(hs_completion_abort(c));
    reader.join();
    CHECK_OK(hs_completion_free(c));
}
