// UTF-8 assembly for streamed token pieces.
#pragma once

#include <cstddef>
#include <string>

namespace hs::utf8 {

// Replaces every invalid byte sequence in `s` by U+FFFD and returns the length of
// the prefix made of complete characters. A trailing sequence that is a valid but
// incomplete start of a character is kept (and excluded from the returned length)
// unless `final` is true, in which case it is replaced by U+FFFD as well.
size_t sanitize(std::string &s, bool final);

// Largest n <= limit such that s[0, n) ends on a character boundary
// (s must be sanitized and limit <= s.size()).
size_t boundary_at_or_below(const std::string &s, size_t limit);

// Length of the first character of s (1..4); s must be sanitized and non-empty.
size_t first_char_len(const std::string &s);

}  // namespace hs::utf8
