#include "json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace hs::json {

const Value *Value::get(const std::string &key) const {
    if (type != Type::Object) return nullptr;
    for (size_t i = 0; i < keys.size(); ++i)
        if (keys[i] == key) return &items[i];
    return nullptr;
}

std::string Value::get_string(const std::string &key, const std::string &def) const {
    const Value *v = get(key);
    return (v && v->is_string()) ? v->str : def;
}

double Value::get_number(const std::string &key, double def) const {
    const Value *v = get(key);
    return (v && v->is_number()) ? v->number : def;
}

bool Value::get_bool(const std::string &key, bool def) const {
    const Value *v = get(key);
    if (v && v->is_bool()) return v->boolean;
    if (v && v->is_number()) return v->number != 0.0;
    return def;
}

namespace {

constexpr int kMaxDepth = 64;

class Parser {
public:
    explicit Parser(const std::string &t) : s_(t) {}

    bool run(Value &out, std::string &err) {
        skip_ws();
        if (!value(out, 0)) {
            err = err_ + " at offset " + std::to_string(pos_);
            return false;
        }
        skip_ws();
        if (pos_ != s_.size()) {
            err = "trailing characters at offset " + std::to_string(pos_);
            return false;
        }
        return true;
    }

private:
    const std::string &s_;
    size_t pos_ = 0;
    std::string err_;

    bool bad(const char *m) {
        if (err_.empty()) err_ = m;
        return false;
    }
    void skip_ws() {
        while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
    }
    bool literal(const char *word) {
        size_t n = 0;
        while (word[n]) ++n;
        if (s_.compare(pos_, n, word) != 0) return bad("invalid literal");
        pos_ += n;
        return true;
    }

    bool value(Value &v, int depth) {
        if (depth > kMaxDepth) return bad("nesting too deep");
        if (pos_ >= s_.size()) return bad("unexpected end of input");
        char c = s_[pos_];
        switch (c) {
        case '{': return object(v, depth);
        case '[': return array(v, depth);
        case '"': v.type = Value::Type::String; return string(v.str);
        case 't': v.type = Value::Type::Bool; v.boolean = true; return literal("true");
        case 'f': v.type = Value::Type::Bool; v.boolean = false; return literal("false");
        case 'n': v.type = Value::Type::Null; return literal("null");
        default:
            if (c == '-' || (c >= '0' && c <= '9')) return number(v);
            return bad("unexpected character");
        }
    }

    bool number(Value &v) {
        size_t start = pos_;
        if (s_[pos_] == '-') ++pos_;
        auto digits = [&]() {
            size_t b = pos_;
            while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
            return pos_ > b;
        };
        if (!digits()) return bad("invalid number");
        if (pos_ < s_.size() && s_[pos_] == '.') {
            ++pos_;
            if (!digits()) return bad("invalid number");
        }
        if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (!digits()) return bad("invalid number");
        }
        double d = 0.0;
        auto r = std::from_chars(s_.data() + start, s_.data() + pos_, d);
        if (r.ec != std::errc() && r.ec != std::errc::result_out_of_range) return bad("invalid number");
        v.type = Value::Type::Number;
        v.number = d;
        return true;
    }

    static void put_utf8(std::string &o, uint32_t cp) {
        if (cp < 0x80) {
            o += static_cast<char>(cp);
        } else if (cp < 0x800) {
            o += static_cast<char>(0xC0 | (cp >> 6));
            o += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            o += static_cast<char>(0xE0 | (cp >> 12));
            o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            o += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            o += static_cast<char>(0xF0 | (cp >> 18));
            o += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            o += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            o += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    bool hex4(uint32_t &out) {
        if (pos_ + 4 > s_.size()) return bad("truncated \\u escape");
        out = 0;
        for (int i = 0; i < 4; ++i) {
            char c = s_[pos_++];
            out <<= 4;
            if (c >= '0' && c <= '9') out |= static_cast<uint32_t>(c - '0');
            else if (c >= 'a' && c <= 'f') out |= static_cast<uint32_t>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') out |= static_cast<uint32_t>(c - 'A' + 10);
            else return bad("invalid \\u escape");
        }
        return true;
    }

    bool string(std::string &out) {
        ++pos_;  // opening quote
        out.clear();
        while (true) {
            if (pos_ >= s_.size()) return bad("unterminated string");
            unsigned char c = static_cast<unsigned char>(s_[pos_++]);
            if (c == '"') return true;
            if (c < 0x20) return bad("control character in string");
            if (c != '\\') {
                out += static_cast<char>(c);
                continue;
            }
            if (pos_ >= s_.size()) return bad("unterminated escape");
            char e = s_[pos_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                uint32_t cp = 0;
                if (!hex4(cp)) return false;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo = 0;
                    if (pos_ + 2 <= s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
                        pos_ += 2;
                        if (!hex4(lo)) return false;
                        if (lo < 0xDC00 || lo > 0xDFFF) return bad("invalid surrogate pair");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    } else {
                        return bad("lone surrogate");
                    }
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    return bad("lone surrogate");
                }
                put_utf8(out, cp);
                break;
            }
            default: return bad("invalid escape");
            }
        }
    }

    bool array(Value &v, int depth) {
        ++pos_;
        v.type = Value::Type::Array;
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ']') { ++pos_; return true; }
        while (true) {
            skip_ws();
            Value item;
            if (!value(item, depth + 1)) return false;
            v.items.push_back(std::move(item));
            skip_ws();
            if (pos_ >= s_.size()) return bad("unterminated array");
            if (s_[pos_] == ',') { ++pos_; continue; }
            if (s_[pos_] == ']') { ++pos_; return true; }
            return bad("expected ',' or ']'");
        }
    }

    bool object(Value &v, int depth) {
        ++pos_;
        v.type = Value::Type::Object;
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == '}') { ++pos_; return true; }
        while (true) {
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != '"') return bad("expected object key");
            std::string key;
            if (!string(key)) return false;
            skip_ws();
            if (pos_ >= s_.size() || s_[pos_] != ':') return bad("expected ':'");
            ++pos_;
            skip_ws();
            Value item;
            if (!value(item, depth + 1)) return false;
            v.keys.push_back(std::move(key));
            v.items.push_back(std::move(item));
            skip_ws();
            if (pos_ >= s_.size()) return bad("unterminated object");
            if (s_[pos_] == ',') { ++pos_; continue; }
            if (s_[pos_] == '}') { ++pos_; return true; }
            return bad("expected ',' or '}'");
        }
    }
};

void dump_to(const Value &v, std::string &o) {
    switch (v.type) {
    case Value::Type::Null: o += "null"; break;
    case Value::Type::Bool: o += v.boolean ? "true" : "false"; break;
    case Value::Type::Number: {
        if (!std::isfinite(v.number)) { o += "null"; break; }
        char buf[64];
        double d = v.number;
        if (d == std::floor(d) && std::fabs(d) < 9.0e15) {
            auto r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(d));
            o.append(buf, r.ptr);
        } else {
            auto r = std::to_chars(buf, buf + sizeof buf, d);
            o.append(buf, r.ptr);
        }
        break;
    }
    case Value::Type::String: o += quote(v.str); break;
    case Value::Type::Array:
        o += '[';
        for (size_t i = 0; i < v.items.size(); ++i) {
            if (i) o += ',';
            dump_to(v.items[i], o);
        }
        o += ']';
        break;
    case Value::Type::Object:
        o += '{';
        for (size_t i = 0; i < v.items.size(); ++i) {
            if (i) o += ',';
            o += quote(v.keys[i]);
            o += ':';
            dump_to(v.items[i], o);
        }
        o += '}';
        break;
    }
}

}  // namespace

bool parse(const std::string &text, Value &out, std::string &error) {
    out = Value();
    Parser p(text);
    return p.run(out, error);
}

std::string dump(const Value &v) {
    std::string o;
    dump_to(v, o);
    return o;
}

std::string quote(const std::string &s) {
    std::string o;
    o.reserve(s.size() + 2);
    o += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': o += "\\\""; break;
        case '\\': o += "\\\\"; break;
        case '\n': o += "\\n"; break;
        case '\r': o += "\\r"; break;
        case '\t': o += "\\t"; break;
        case '\b': o += "\\b"; break;
        case '\f': o += "\\f"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", c);
                o += buf;
            } else {
                o += static_cast<char>(c);
            }
        }
    }
    o += '"';
    return o;
}

}  // namespace hs::json
