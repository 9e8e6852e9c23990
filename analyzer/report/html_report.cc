#include "analyzer/report/html_report.h"

#include <string>
#include <string_view>

#include "analyzer/report/assets.h"

namespace tpslab::analyzer {
namespace {

// The page's title: which run this is, before any script runs.
std::string PageTitle(const nlohmann::json& report) {
  std::string title = "tpslab run report";
  if (report.is_object() && report.contains("run") && report["run"].is_object()) {
    const nlohmann::json& run = report["run"];
    if (run.contains("id") && run["id"].is_string()) {
      title += ": " + run["id"].get<std::string>();
    }
  }
  return title;
}

}  // namespace

std::string EscapeJsonForHtmlScript(const nlohmann::json& value) {
  // ensure_ascii writes every non-ASCII code point (U+2028 and U+2029 among
  // them) as \uXXXX. In JSON text '<', '>' and '&' can only occur inside
  // strings, where \u003c etc. mean the same characters.
  const std::string text = value.dump(/*indent=*/-1, /*indent_char=*/' ', /*ensure_ascii=*/true,
                                      nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (char c : text) {
    switch (c) {
      case '<':
        out += "\\u003c";
        break;
      case '>':
        out += "\\u003e";
        break;
      case '&':
        out += "\\u0026";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderReportHtml(const nlohmann::json& report, const HtmlOptions& options) {
  const nlohmann::json page_options = {
      {"live", options.live},
      {"report_url", options.live ? options.report_url : std::string()},
  };
  std::string html;
  html.reserve(report_assets::UplotJs().size() + report_assets::ReportJs().size() + (1 << 16));
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<meta name=\"generator\" content=\"tpslab analyzer\">\n";
  html += "<title>" + EscapeHtml(PageTitle(report)) + "</title>\n";
  html += "<style>\n";
  html += report_assets::UplotCss();
  html += "\n</style>\n<style>\n";
  html += report_assets::ReportCss();
  html += "\n</style>\n</head>\n<body>\n";
  html += "<div id=\"errors\" class=\"errors\" role=\"alert\" hidden></div>\n";
  html += "<main id=\"report\"><noscript><p class=\"noscript\">This report is drawn by ";
  html += "JavaScript; enable it to see the charts. The data is in the page source and in ";
  html += "summary.json.</p></noscript></main>\n";
  html += "<script type=\"application/json\" id=\"tpslab-report\">";
  html += EscapeJsonForHtmlScript(report);
  html += "</script>\n<script type=\"application/json\" id=\"tpslab-options\">";
  html += EscapeJsonForHtmlScript(page_options);
  html +=
      "</script>\n<script>\n/*! uPlot, the chart library of this page (third_party/npm/uplot). Its "
      "license:\n";
  html += report_assets::UplotLicense();
  html += "*/\n";
  html += report_assets::UplotJs();
  html += "\n</script>\n<script>\n";
  html += report_assets::ReportJs();
  html += "\n</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace tpslab::analyzer
