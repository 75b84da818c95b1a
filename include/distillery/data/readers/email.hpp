// data/readers/email.hpp — the text of one e-mail (RFC 822 message, MIME, HTML), for the spam
// task of data/text_tasks.hpp. Kept beside that reader, out of the headers most users include.
//
// e-mails (data/spam/<folder>/<n>.<md5>.txt): an RFC 822 message with an optional mbox
// "From " line. `email_text` drops every header except Subject (RFC 2047 encoded words
// decoded), walks MIME multipart bodies (multipart/alternative: the text/plain part when
// there is one, else the text/html one; other multiparts: every text/* part; attachments
// dropped), undoes quoted-printable and base64, turns HTML into text (tags, comments,
// <script> and <style> removed, the common entities decoded), converts non-UTF-8 bytes as
// Windows-1252, squeezes runs of one punctuation character to 3 and collapses white space.
// The result "Subject. body" is cut at a word boundary to at most `max_bytes` (default 2000,
// several times what 128 sub-word tokens cover).
// Parses from memory (so tests/fuzz/fuzz_text_tasks.cpp reaches it); an e-mail header line that
// is neither "name: value" nor a continuation throws Error("email: <file>: byte <offset>: ...").
//
//   std::string t = load_email_text("data/spam/spam-1/00001.7848dde101aa985090474a91ec93fcf0.txt");
#pragma once
#include <cstdint>
#include <string>

#include "../text_corpora.hpp"  // detail::to_utf8, normalize_space, ascii_lower

namespace distillery {

// ---- e-mail ---------------------------------------------------------------------------------

namespace detail {
struct MimeHeaders {
  std::string subject, content_type, encoding;  // values unfolded; the last two lower-cased
};

// Parses the header block starting at `pos`; returns the offset of the body. Strict mode
// (the message itself) throws on a line that is neither a header nor a continuation; lenient
// mode (MIME part headers) ends the block there instead.
inline size_t parse_mime_headers(const uint8_t* d, size_t n, size_t pos, const std::string& name,
                                 bool strict, MimeHeaders& h) {
  std::string* last = nullptr;
  std::string ignored;
  bool first = true;
  while (pos < n) {
    size_t end = pos;
    while (end < n && d[end] != '\n') ++end;
    size_t stop = end > pos && d[end - 1] == '\r' ? end - 1 : end;
    if (stop == pos) return std::min(end + 1, n);  // the blank line ending the headers
    std::string line(reinterpret_cast<const char*>(d + pos), stop - pos);
    if (first && strict && line.compare(0, 5, "From ") == 0) {  // mbox separator line
      first = false;
      pos = end + 1;
      continue;
    }
    first = false;
    if (line[0] == ' ' || line[0] == '\t') {
      if (!last) {
        if (strict) fail_at("email", name, pos, "continuation line before any header");
        return pos;
      }
      *last += ' ';
      *last += line;
    } else {
      size_t colon = line.find(':');
      bool ok = colon != std::string::npos && colon > 0;
      for (size_t k = 0; ok && k < colon; ++k)
        ok = line[k] > 0x20 && line[k] < 0x7F;
      if (!ok) {
        if (strict) fail_at("email", name, pos, "header line has no 'name:'");
        return pos;
      }
      std::string key = ascii_lower(line.substr(0, colon));
      last = &ignored;
      if (key == "subject") last = &h.subject;
      else if (key == "content-type") last = &h.content_type;
      else if (key == "content-transfer-encoding") last = &h.encoding;
      if (last != &ignored && !last->empty()) last = &ignored;  // first occurrence wins
      *last = line.substr(colon + 1);
    }
    pos = end + 1;
  }
  return n;  // headers only, no body
}

// A parameter of a Content-Type value (case-insensitive name, optional quotes), or "".
inline std::string mime_param(const std::string& value, const std::string& param) {
  std::string lower = ascii_lower(value);
  size_t at = 0;
  while ((at = lower.find(param, at)) != std::string::npos) {
    bool starts = at == 0 || lower[at - 1] == ';' || text_space(static_cast<unsigned char>(lower[at - 1]));
    size_t eq = at + param.size();
    while (eq < lower.size() && text_space(static_cast<unsigned char>(lower[eq]))) ++eq;
    if (starts && eq < lower.size() && lower[eq] == '=') {
      size_t v = eq + 1;
      while (v < value.size() && text_space(static_cast<unsigned char>(value[v]))) ++v;
      if (v < value.size() && value[v] == '"') {
        size_t close = value.find('"', v + 1);
        return value.substr(v + 1, close == std::string::npos ? std::string::npos : close - v - 1);
      }
      size_t e = v;
      while (e < value.size() && value[e] != ';' && !text_space(static_cast<unsigned char>(value[e]))) ++e;
      return value.substr(v, e - v);
    }
    at += param.size();
  }
  return "";
}

inline int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Quoted-printable: "=HH" -> byte, "=" at a line end -> nothing; `q_encoding` (RFC 2047 "Q")
// also turns '_' into a space. Malformed escapes are kept as they are.
inline std::string decode_qp(const std::string& s, bool q_encoding = false) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '=') {
      if (i + 1 < s.size() && s[i + 1] == '\n') { ++i; continue; }
      if (i + 2 < s.size() && s[i + 1] == '\r' && s[i + 2] == '\n') { i += 2; continue; }
      int hi = i + 1 < s.size() ? hex_value(static_cast<unsigned char>(s[i + 1])) : -1;
      int lo = i + 2 < s.size() ? hex_value(static_cast<unsigned char>(s[i + 2])) : -1;
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += q_encoding && c == '_' ? ' ' : static_cast<char>(c);
  }
  return out;
}

// Base64, skipping characters outside the alphabet; stops at the first '='.
inline std::string decode_base64(const std::string& s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : s) {
    int v;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+') v = 62;
    else if (ch == '/') v = 63;
    else if (ch == '=') break;
    else continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

// RFC 2047 encoded words "=?charset?Q|B?text?=" in a header value.
inline std::string decode_encoded_words(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = s.find("=?", i);
    if (start == std::string::npos) break;
    size_t q1 = s.find('?', start + 2);
    size_t q2 = q1 == std::string::npos ? q1 : s.find('?', q1 + 1);
    size_t end = q2 == std::string::npos ? q2 : s.find("?=", q2 + 1);
    if (end == std::string::npos || q2 != q1 + 2) {
      out.append(s, i, start + 2 - i);
      i = start + 2;
      continue;
    }
    out.append(s, i, start - i);
    char kind = static_cast<char>(s[q1 + 1] | 0x20);
    std::string text = s.substr(q2 + 1, end - q2 - 1);
    out += kind == 'b' ? decode_base64(text) : kind == 'q' ? decode_qp(text, true) : text;
    i = end + 2;
  }
  out.append(s, i, std::string::npos);
  return out;
}

// HTML -> text: tags and comments become spaces, <script>/<style> content is dropped, the common
// named entities and numeric ones are decoded (unknown ones are kept).
inline std::string html_to_text(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  const std::string lower = ascii_lower(s);
  size_t i = 0;
  while (i < s.size()) {
    char ch = s[i];
    if (ch == '<') {
      if (lower.compare(i, 4, "<!--") == 0) {
        size_t e = lower.find("-->", i + 4);
        i = e == std::string::npos ? s.size() : e + 3;
      } else {
        bool script = lower.compare(i, 7, "<script") == 0, style = lower.compare(i, 6, "<style") == 0;
        size_t e = s.find('>', i + 1);
        i = e == std::string::npos ? s.size() : e + 1;
        if (script || style) {
          size_t close = lower.find(script ? "</script" : "</style", i);
          i = close == std::string::npos ? s.size() : close;
        }
      }
      out += ' ';
    } else if (ch == '&') {
      size_t semi = i + 1;  // entities are short: look for ';' in the next 9 bytes only
      while (semi < s.size() && semi - i <= 9 && s[semi] != ';') ++semi;
      std::string ent = semi < s.size() && s[semi] == ';' ? lower.substr(i + 1, semi - i - 1) : "";
      uint32_t cp = 0;
      if (ent == "nbsp") cp = ' ';
      else if (ent == "amp") cp = '&';
      else if (ent == "lt") cp = '<';
      else if (ent == "gt") cp = '>';
      else if (ent == "quot") cp = '"';
      else if (ent == "apos") cp = '\'';
      else if (ent == "copy") cp = 0xA9;
      else if (ent == "reg") cp = 0xAE;
      else if (ent.size() >= 2 && ent[0] == '#') {
        bool hex = ent[1] == 'x';
        for (size_t k = hex ? 2 : 1; k < ent.size(); ++k) {
          int v = hex ? hex_value(static_cast<unsigned char>(ent[k])) : (ent[k] >= '0' && ent[k] <= '9' ? ent[k] - '0' : -1);
          if (v < 0 || cp > 0x10FFFF) { cp = 0; break; }
          cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
        }
        if (cp < 0x20 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x7F && cp < 0xA0)) cp = cp ? ' ' : 0;
      }
      if (cp) {
        append_utf8(out, cp);
        i = semi + 1;
      } else {
        out += ch;
        ++i;
      }
    } else {
      out += ch;
      ++i;
    }
  }
  return out;
}

// The text of one MIME entity (headers h, body d[b, e)), appended to `out`; `depth` bounds
// nesting.
inline void mime_text(const uint8_t* d, size_t b, size_t e, const MimeHeaders& h,
                      const std::string& name, int depth, std::string& out) {
  std::string type = ascii_lower(h.content_type);
  {
    size_t a = 0;
    while (a < type.size() && text_space(static_cast<unsigned char>(type[a]))) ++a;
    size_t z = a;
    while (z < type.size() && type[z] != ';' && !text_space(static_cast<unsigned char>(type[z]))) ++z;
    type = type.substr(a, z - a);
  }
  if (type.empty()) type = "text/plain";
  if (type.compare(0, 10, "multipart/") == 0 && depth < 8) {
    std::string boundary = mime_param(h.content_type, "boundary");
    if (!boundary.empty()) {
      const std::string delim = "--" + boundary;
      // Part bodies between delimiter lines.
      std::vector<std::pair<size_t, size_t>> parts;
      size_t pos = b, part_start = std::string::npos;
      bool closed = false;
      while (pos < e && !closed) {
        size_t end = pos;
        while (end < e && d[end] != '\n') ++end;
        size_t stop = end > pos && d[end - 1] == '\r' ? end - 1 : end;
        if (stop - pos >= delim.size() && std::equal(delim.begin(), delim.end(), d + pos)) {
          if (part_start != std::string::npos) parts.emplace_back(part_start, pos);
          closed = stop - pos >= delim.size() + 2 && d[pos + delim.size()] == '-' && d[pos + delim.size() + 1] == '-';
          part_start = std::min(end + 1, e);
        }
        pos = end + 1;
      }
      if (!closed && part_start != std::string::npos && part_start < e) parts.emplace_back(part_start, e);
      if (!parts.empty()) {
        std::vector<MimeHeaders> hs(parts.size());
        std::vector<size_t> body(parts.size());
        for (size_t k = 0; k < parts.size(); ++k)
          body[k] = std::min(parse_mime_headers(d, parts[k].second, parts[k].first, name, false, hs[k]), parts[k].second);
        if (type == "multipart/alternative") {
          size_t pick = parts.size();
          for (const char* want : {"text/plain", "text/html", ""})
            for (size_t k = 0; k < parts.size() && pick == parts.size(); ++k) {
              std::string t = ascii_lower(normalize_space(hs[k].content_type));
              if (t.compare(0, std::char_traits<char>::length(want), want) == 0) pick = k;
            }
          if (pick < parts.size()) mime_text(d, body[pick], parts[pick].second, hs[pick], name, depth + 1, out);
        } else {
          for (size_t k = 0; k < parts.size(); ++k)
            mime_text(d, body[k], parts[k].second, hs[k], name, depth + 1, out);
        }
        return;
      }
    }
    type = "text/plain";  // no boundary or no parts: read the body as plain text
  }
  if (type.compare(0, 5, "text/") != 0 && type != "message/rfc822") return;  // attachments
  std::string raw(reinterpret_cast<const char*>(d + b), e - b);
  std::string enc = ascii_lower(normalize_space(h.encoding));
  if (enc == "quoted-printable") raw = decode_qp(raw);
  else if (enc == "base64") raw = decode_base64(raw);
  raw = to_utf8(raw);
  if (type == "text/html" || (type == "text/plain" && ascii_lower(raw.substr(0, 512)).find("<html") != std::string::npos))
    raw = html_to_text(raw);
  out += raw;
  out += '\n';
}

// Runs of more than 3 equal ASCII punctuation characters ("-----", "!!!!!!") become 3.
inline std::string squeeze_punctuation(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char ch = s[i];
    bool punct = (ch >= '!' && ch <= '/') || (ch >= ':' && ch <= '@') || (ch >= '[' && ch <= '`') || (ch >= '{' && ch <= '~');
    run = punct && i > 0 && s[i - 1] == ch ? run + 1 : 1;
    if (!punct || run <= 3) out += ch;
  }
  return out;
}

// At most max_bytes of s, cut at a space when there is one in the last quarter, and never
// inside a UTF-8 sequence.
inline std::string cut_text(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  size_t space = s.rfind(' ', cut);
  if (space != std::string::npos && space >= max_bytes - max_bytes / 4) cut = space;
  return s.substr(0, cut);
}
}  // namespace detail

// "Subject. body" of one e-mail as described at the top (white space collapsed, UTF-8).
inline std::string email_text(const uint8_t* data, size_t n, const std::string& name,
                              size_t max_bytes = 2000) {
  detail::MimeHeaders h;
  size_t body = detail::parse_mime_headers(data, n, 0, name, /*strict=*/true, h);
  std::string text;
  detail::mime_text(data, body, n, h, name, 0, text);
  std::string subject = normalize_space(detail::to_utf8(detail::decode_encoded_words(h.subject)));
  text = normalize_space(detail::squeeze_punctuation(text));
  if (!subject.empty()) {
    char last = subject.back();
    bool ends = last == '.' || last == '!' || last == '?';
    text = text.empty() ? subject : subject + (ends ? " " : ". ") + text;
  }
  return detail::cut_text(text, max_bytes);
}

inline std::string load_email_text(const std::string& path, size_t max_bytes = 2000) {
  Bytes b = read_file_bytes(path, "email");
  return email_text(b.data(), b.size(), path, max_bytes);
}

}  // namespace distillery
