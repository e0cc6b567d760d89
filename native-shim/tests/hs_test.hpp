// Tiny test framework for the shim's ctest suite: TEST() registers a case,
// CHECK*() record failures and continue, REQUIRE*() stop the case. A case that
// performs no check at all counts as failed.
#pragma once

#include "hailo_shim.h"

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace hst {

struct Case {
    const char *name;
    void (*fn)();
};
std::vector<Case> &cases();
struct Register {
    Register(const char *name, void (*fn)()) { cases().push_back(Case{name, fn}); }
};

struct Abort {};  // thrown by REQUIRE to leave a case early

void record(bool ok, const char *file, int line, const std::string &what);
std::string fixture(const std::string &name);    // path of a file in tests/fixtures
std::string scratch_dir();                       // per-test writable directory
std::string describe(int32_t st);                // "NAME (n): last error"

// Runs this test binary as a child: `--helper args...`. Returns the child's first
// stdout line; if hold is true the child keeps running until release() is called.
struct Child {
    int pid = -1;
    int stdin_fd = -1;
    int stdout_fd = -1;
    std::string first_line;
    int wait_exit();   // closes stdin, waits, returns exit code
};
Child spawn_helper(const std::vector<std::string> &args, const std::vector<std::string> &extra_env = {});

template <class A, class B>
std::string show_pair(const A &a, const B &b) {
    std::ostringstream s;
    s << "got [" << a << "] expected [" << b << "]";
    return s.str();
}

}  // namespace hst

#define TEST(name)                                                   \
    static void hst_case_##name();                                   \
    static hst::Register hst_reg_##name(#name, hst_case_##name);     \
    static void hst_case_##name()

#define CHECK(cond) hst::record(static_cast<bool>(cond), __FILE__, __LINE__, #cond)
#define REQUIRE(cond)                                                \
    do {                                                             \
        bool hst_ok_ = static_cast<bool>(cond);                      \
        hst::record(hst_ok_, __FILE__, __LINE__, #cond);             \
        if (!hst_ok_) throw hst::Abort{};                            \
    } while (0)
#define CHECK_EQ(a, b)                                                                              \
    do {                                                                                            \
        auto hst_a_ = (a);                                                                          \
        auto hst_b_ = (b);                                                                          \
        bool hst_ok_ = hst_a_ == hst_b_;                                                            \
        hst::record(hst_ok_, __FILE__, __LINE__,                                                    \
                    hst_ok_ ? std::string() : std::string(#a " == " #b ": ") + hst::show_pair(hst_a_, hst_b_)); \
    } while (0)
#define CHECK_ST(expr, expected)                                                                    \
    do {                                                                                            \
        int32_t hst_st_ = (expr);                                                                   \
        bool hst_ok_ = hst_st_ == (expected);                                                       \
        hst::record(hst_ok_, __FILE__, __LINE__,                                                    \
                    hst_ok_ ? std::string() : std::string(#expr ": got ") + hst::describe(hst_st_) + \
                                                  ", expected " + hs_status_name(expected));        \
    } while (0)
#define REQUIRE_ST(expr, expected)                                                                  \
    do {                                                                                            \
        int32_t hst_st_ = (expr);                                                                   \
        bool hst_ok_ = hst_st_ == (expected);                                                       \
        hst::record(hst_ok_, __FILE__, __LINE__,                                                    \
                    hst_ok_ ? std::string() : std::string(#expr ": got ") + hst::describe(hst_st_) + \
                                                  ", expected " + hs_status_name(expected));        \
        if (!hst_ok_) throw hst::Abort{};                                                           \
    } while (0)
#define CHECK_OK(expr) CHECK_ST(expr, HS_STATUS_SUCCESS)
#define REQUIRE_OK(expr) REQUIRE_ST(expr, HS_STATUS_SUCCESS)
