// Runner for the shim tests.
//   hs_tests <case>            run one case (what ctest does)
//   hs_tests --all             run every case in this process
//   hs_tests --list            print the case names
//   hs_tests --helper ...      child-process mode used by the multi-process cases
#include "hs_test.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace hst {

namespace {
int g_checks = 0;
int g_failed_checks = 0;
std::string g_self;
std::string g_case = "none";
}  // namespace

std::vector<Case> &cases() {
    static std::vector<Case> v;
    return v;
}

void record(bool ok, const char *file, int line, const std::string &what) {
    ++g_checks;
    if (ok) return;
    ++g_failed_checks;
    const char *base = std::strrchr(file, '/');
    std::fprintf(stderr, "    FAILED %s:%d: %s\n", base ? base + 1 : file, line, what.c_str());
}

std::string describe(int32_t st) {
    std::ostringstream s;
    s << hs_status_name(st) << " (" << st << ")";
    const char *e = hs_last_error();
    if (e && *e) s << ": " << e;
    return s.str();
}

std::string fixture(const std::string &name) {
    const char *dir = std::getenv("HS_TEST_FIXTURES");
    return std::string(dir ? dir : "fixtures") + "/" + name;
}

std::string scratch_dir() {
    const char *base = std::getenv("HS_FAKE_STATE_DIR");
    std::string dir = std::string(base ? base : "/tmp") + "/scratch-" + g_case;
    ::mkdir(dir.c_str(), 0700);
    return dir;
}

int Child::wait_exit() {
    if (stdin_fd >= 0) {
        ::close(stdin_fd);
        stdin_fd = -1;
    }
    if (stdout_fd >= 0) {
        ::close(stdout_fd);
        stdout_fd = -1;
    }
    if (pid <= 0) return -1;
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    pid = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Child spawn_helper(const std::vector<std::string> &args, const std::vector<std::string> &extra_env) {
    Child c;
    int in_pipe[2], out_pipe[2];
    if (::pipe(in_pipe) != 0 || ::pipe(out_pipe) != 0) return c;
    std::vector<std::string> argv_s;
    if (const char *emu = std::getenv("HS_TEST_EMULATOR")) {  // e.g. "qemu-aarch64 -L /usr/aarch64-linux-gnu"
        std::istringstream ss(emu);
        std::string w;
        while (ss >> w) argv_s.push_back(w);
    }
    argv_s.push_back(g_self);
    argv_s.push_back("--helper");
    for (const auto &a : args) argv_s.push_back(a);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in_pipe[0], 0);
        ::dup2(out_pipe[1], 1);
        ::close(in_pipe[0]);
        ::close(in_pipe[1]);
        ::close(out_pipe[0]);
        ::close(out_pipe[1]);
        for (const auto &e : extra_env) {
            size_t eq = e.find('=');
            if (eq == std::string::npos) ::unsetenv(e.c_str());
            else ::setenv(e.substr(0, eq).c_str(), e.substr(eq + 1).c_str(), 1);
        }
        std::vector<char *> argv;
        for (auto &s : argv_s) argv.push_back(const_cast<char *>(s.c_str()));
        argv.push_back(nullptr);
        ::execvp(argv[0], argv.data());
        std::_Exit(127);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    c.pid = pid;
    c.stdin_fd = in_pipe[1];
    c.stdout_fd = out_pipe[0];
    // Read the first line (the helper's report), at most 20 s.
    std::string line;
    char ch;
    while (true) {
        pollfd p{c.stdout_fd, POLLIN, 0};
        int r = ::poll(&p, 1, 20000);
        if (r <= 0) break;
        ssize_t n = ::read(c.stdout_fd, &ch, 1);
        if (n <= 0 || ch == '\n') break;
        line += ch;
    }
    c.first_line = line;
    return c;
}

}  // namespace hst

// ------------------------------------------------------------------ helper mode
namespace {

int helper_main(int argc, char **argv) {
    // argv: mode [args...] [hold]
    if (argc < 1) return 2;
    std::string mode = argv[0];
    bool hold = std::string(argv[argc - 1]) == "hold";
    int32_t st = 0;
    std::string extra;
    hs_vdevice *vd = nullptr;
    hs_llm *llm = nullptr;
    hs_vlm *vlm = nullptr;
    hs_s2t *s2t = nullptr;
    if (mode == "scan") {
        hs_device_id_t ids[4];
        uint32_t n = 0;
        st = hs_scan(ids, 4, &n);
        extra = " count=" + std::to_string(n);
    } else if (mode == "vdevice" && argc >= 2) {
        st = hs_vdevice_open(argv[1], &vd);
    } else if ((mode == "llm" || mode == "vlm" || mode == "s2t") && argc >= 2) {
        st = hs_vdevice_open("SHARED", &vd);
        if (st == 0) {
            if (mode == "llm") st = hs_llm_create(vd, argv[1], nullptr, &llm);
            else if (mode == "vlm") st = hs_vlm_create(vd, argv[1], nullptr, &vlm);
            else st = hs_s2t_create(vd, argv[1], &s2t);
        }
    } else {
        std::printf("status=-1 unknown helper mode\n");
        return 2;
    }
    std::printf("status=%d%s\n", st, extra.c_str());
    std::fflush(stdout);
    if (hold && st == 0) {
        char buf[64];
        while (::read(0, buf, sizeof buf) > 0) {
        }
    }
    hs_llm_destroy(llm);
    hs_vlm_destroy(vlm);
    hs_s2t_destroy(s2t);
    hs_vdevice_close(vd);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    ::signal(SIGPIPE, SIG_IGN);
    {
        char buf[PATH_MAX];
        hst::g_self = ::realpath(argv[0], buf) ? buf : argv[0];
    }
    if (argc >= 2 && std::string(argv[1]) == "--helper") return helper_main(argc - 2, argv + 2);
    auto &all = hst::cases();
    std::sort(all.begin(), all.end(), [](const hst::Case &a, const hst::Case &b) { return std::strcmp(a.name, b.name) < 0; });
    if (argc >= 2 && std::string(argv[1]) == "--list") {
        for (const auto &c : all) std::printf("%s\n", c.name);
        return 0;
    }
    std::vector<const hst::Case *> run;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        bool found = false;
        for (const auto &c : all)
            if (a == "--all" || a == c.name) {
                run.push_back(&c);
                found = true;
            }
        if (!found) {
            std::fprintf(stderr, "unknown test case '%s' (try --list)\n", a.c_str());
            return 2;
        }
    }
    if (run.empty()) {
        std::fprintf(stderr, "usage: %s <case>... | --all | --list\n", argv[0]);
        return 2;
    }
    int passed = 0, failed = 0;
    for (const auto *c : run) {
        hst::g_case = c->name;
        hst::g_checks = 0;
        hst::g_failed_checks = 0;
        std::printf("[ RUN  ] %s\n", c->name);
        std::fflush(stdout);
        bool aborted = false;
        try {
            c->fn();
        } catch (const hst::Abort &) {
            aborted = true;
        } catch (const std::exception &e) {
            std::fprintf(stderr, "    FAILED: exception %s\n", e.what());
            ++hst::g_failed_checks;
        }
        bool ok = hst::g_failed_checks == 0 && !aborted;
        if (hst::g_checks == 0) {
            std::fprintf(stderr, "    FAILED: the case performed no checks\n");
            ok = false;
        }
        std::printf("[ %s ] %s (%d checks, %d failed)\n", ok ? "OK  " : "FAIL", c->name, hst::g_checks,
                    hst::g_failed_checks);
        (ok ? passed : failed)++;
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
