// The run report as one self-contained HTML page: the report document
// (schema "tpslab.report/1", as analyzer/run_analysis makes it) inlined as
// JSON, drawn in the browser by an embedded page script with the embedded
// uPlot chart library. The page loads nothing from the network, so
// report.html opens offline, from a file or a mail attachment.
//
// In live mode the page also polls the analyzer's JSON API every second
// and redraws (the live dashboard of a running run).
//
// Example:
//   std::string html = RenderReportHtml(report);                 // report.html
//   std::string live = RenderReportHtml(report, {.live = true,
//                                        .report_url = "/api/runs/" + id + "/report"});
#ifndef TPSLAB_ANALYZER_REPORT_HTML_REPORT_H_
#define TPSLAB_ANALYZER_REPORT_HTML_REPORT_H_

#include <string>

#include "nlohmann/json.hpp"

namespace tpslab::analyzer {

// How the page gets its data.
struct HtmlOptions {
  // Poll `report_url` every second and redraw, showing "live, updated Xs
  // ago"; polling stops once the run's state is no longer "running".
  // Default false: a static page showing the embedded document only.
  bool live = false;
  // URL of the report document for live mode, absolute or relative to the
  // page (e.g. "/api/runs/<id>/report"). Ignored unless `live`. Default empty.
  std::string report_url = {};
};

// Returns the complete HTML page for `report`. Any JSON value is accepted:
// sections the page does not find are reported as absent, not as errors.
// Strings from the document (run names, messages) cannot break out of the
// page's script: see EscapeJsonForHtmlScript().
std::string RenderReportHtml(const nlohmann::json& report, const HtmlOptions& options = {});

// Returns `value` as JSON text that is safe inside an HTML <script> element
// and parses back to the same value with JSON.parse: non-ASCII characters
// (including U+2028/U+2029) and '<', '>', '&' are written as \uXXXX escapes,
// so the text can contain neither "</script" nor "<!--". Invalid UTF-8 in
// strings becomes U+FFFD.
std::string EscapeJsonForHtmlScript(const nlohmann::json& value);

// Returns `text` with &, <, >, " and ' replaced by character references, for
// HTML text and attribute values.
std::string EscapeHtml(std::string_view text);

}  // namespace tpslab::analyzer

#endif  // TPSLAB_ANALYZER_REPORT_HTML_REPORT_H_
