// render_report: writes the HTML page of a report document, the same page
// `analyzer` writes as report.html. For looking at a report by hand and for
// the headless-browser test of the page.
//
//   render_report --in summary.json --out report.html
//   render_report --in summary.json --out live.html --live --report-url /api/runs/ID/report
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "analyzer/report/html_report.h"
#include "nlohmann/json.hpp"

int main(int argc, char** argv) {
  std::string in_path;
  std::string out_path;
  tpslab::analyzer::HtmlOptions options;
  CLI::App app("Writes the HTML page of a tpslab report document (tpslab.report/1)",
               "render_report");
  app.add_option("--in", in_path, "Report JSON (summary.json)")->required()->type_name("FILE");
  app.add_option("--out", out_path, "HTML file to write")->required()->type_name("FILE");
  app.add_flag("--live", options.live, "Poll --report-url every second and redraw");
  app.add_option("--report-url", options.report_url, "URL of the report JSON for --live")
      ->type_name("URL");
  CLI11_PARSE(app, argc, argv);
  if (options.live && options.report_url.empty()) {
    std::cerr << "render_report: --live needs --report-url\n";
    return 2;
  }

  std::ifstream in(in_path, std::ios::binary);
  if (!in) {
    std::cerr << "render_report: cannot open " << in_path << "\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json report = nlohmann::json::parse(text.str(), /*cb=*/nullptr,
                                                /*allow_exceptions=*/false);
  if (report.is_discarded()) {
    std::cerr << "render_report: " << in_path << " is not valid JSON\n";
    return 1;
  }

  const std::string html = tpslab::analyzer::RenderReportHtml(report, options);
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  out << html;
  out.close();
  if (!out) {
    std::cerr << "render_report: cannot write " << out_path << "\n";
    return 1;
  }
  return 0;
}
