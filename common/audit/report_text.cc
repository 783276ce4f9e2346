#include "common/audit/report.h"

#include <algorithm>
#include <array>
#include <string_view>

#include "common/audit/summary.h"

namespace kcanary::audit {
namespace {

constexpr std::string_view kGap = "  ";
constexpr std::string_view kDetailIndent = "    ";

void AppendPadded(std::string& out, std::string_view text, size_t width) {
  out += text;
  out.append(width - text.size(), ' ');
  out += kGap;
}

std::string Plural(size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

}  // namespace

std::string RenderText(const std::vector<CheckResult>& results) {
  // Column widths fit the longest cell; VALUE is last and never padded, so no
  // line ends in blanks.
  std::array<size_t, 3> width = {std::string_view("TOPIC").size(), std::string_view("CHECK").size(),
                                 std::string_view("UNKNOWN").size()};
  for (const CheckResult& row : results) {
    width[0] = std::max(width[0], row.topic.size());
    width[1] = std::max(width[1], row.check.size());
  }

  std::string out;
  AppendPadded(out, "TOPIC", width[0]);
  AppendPadded(out, "CHECK", width[1]);
  AppendPadded(out, "RESULT", width[2]);
  out += "VALUE\n";
  for (const CheckResult& row : results) {
    AppendPadded(out, row.topic, width[0]);
    AppendPadded(out, row.check, width[1]);
    AppendPadded(out, VerdictName(row.verdict), width[2]);
    out += row.value;
    out += '\n';
    if (row.verdict != Verdict::kPass) {
      out += std::string(kDetailIndent) + "why: " + row.why + "\n";
      out += std::string(kDetailIndent) + "fix: " + row.fix + "\n";
    }
  }
  const Summary s = Summarize(results);
  out += Plural(results.size(), "check") + " on " + Plural(s.topics, "topic") + ": " +
         std::to_string(s.pass) + " pass, " + std::to_string(s.fail) + " fail, " +
         std::to_string(s.unknown) + " unknown\n";
  return out;
}

}  // namespace kcanary::audit
