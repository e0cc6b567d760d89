// Minimal JSON reader/writer (RFC 8259 subset sufficient for the shim):
// parses into a tree, keeps object key order, decodes \uXXXX (incl. surrogate
// pairs) to UTF-8, limits nesting depth, and re-serialises compactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hs::json {

struct Value {
    enum class Type { Null, Bool, Number, String, Array, Object };
    Type type = Type::Null;
    bool boolean = false;
    double number = 0.0;
    std::string str;
    std::vector<Value> items;       // Array elements, or Object values
    std::vector<std::string> keys;  // Object keys (parallel to items)

    bool is_null() const { return type == Type::Null; }
    bool is_bool() const { return type == Type::Bool; }
    bool is_number() const { return type == Type::Number; }
    bool is_string() const { return type == Type::String; }
    bool is_array() const { return type == Type::Array; }
    bool is_object() const { return type == Type::Object; }

    // Object member lookup (first match), nullptr if absent or not an object.
    const Value *get(const std::string &key) const;
    // Typed getters with defaults (return `def` when absent or of another type).
    std::string get_string(const std::string &key, const std::string &def = "") const;
    double get_number(const std::string &key, double def) const;
    bool get_bool(const std::string &key, bool def) const;
};

// Parses `text`; on failure returns false and sets `error` (with byte offset).
bool parse(const std::string &text, Value &out, std::string &error);
// Compact serialisation.
std::string dump(const Value &v);
// JSON string literal (with quotes) for a UTF-8 string.
std::string quote(const std::string &s);

}  // namespace hs::json
