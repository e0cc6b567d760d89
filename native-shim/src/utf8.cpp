#include "utf8.hpp"

namespace hs::utf8 {
namespace {

const char kReplacement[] = "\xEF\xBF\xBD";

// Expected sequence length for a lead byte, 0 if the byte cannot start a character.
size_t seq_len(unsigned char b) {
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 0;
}

// Whether `b` is acceptable as continuation byte number `k` (1-based) after `lead`.
bool cont_ok(unsigned char lead, size_t k, unsigned char b) {
    if (k == 1) {
        if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
        if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
        if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
        if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
    }
    return b >= 0x80 && b <= 0xBF;
}

}  // namespace

size_t sanitize(std::string &s, bool final) {
    size_t i = 0;
    while (i < s.size()) {
        unsigned char lead = static_cast<unsigned char>(s[i]);
        size_t n = seq_len(lead);
        if (n == 1) {
            ++i;
            continue;
        }
        if (n == 0) {
            s.replace(i, 1, kReplacement);
            i += 3;
            continue;
        }
        size_t k = 1;
        while (k < n && i + k < s.size() && cont_ok(lead, k, static_cast<unsigned char>(s[i + k]))) ++k;
        if (k == n) {
            i += n;
            continue;
        }
        if (i + k == s.size() && !final) {
            return i;  // valid so far, waiting for more bytes
        }
        // Invalid (or truncated at the very end of a finished stream): replace the
        // maximal valid prefix of the sequence by one U+FFFD.
        s.replace(i, k, kReplacement);
        i += 3;
    }
    return s.size();
}

size_t boundary_at_or_below(const std::string &s, size_t limit) {
    size_t n = limit;
    while (n > 0 && n < s.size() && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    return n;
}

size_t first_char_len(const std::string &s) {
    size_t n = seq_len(static_cast<unsigned char>(s[0]));
    return n == 0 ? 1 : n;
}

}  // namespace hs::utf8
