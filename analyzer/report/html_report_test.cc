#include "analyzer/report/html_report.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "analyzer/report/assets.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace tpslab::analyzer {
namespace {

constexpr char kTestdata[] = "analyzer/report/testdata/report.json";
constexpr std::string_view kReportOpen = "<script type=\"application/json\" id=\"tpslab-report\">";
constexpr std::string_view kOptionsOpen =
    "<script type=\"application/json\" id=\"tpslab-options\">";

nlohmann::json LoadTestdata() {
  std::ifstream in(kTestdata);
  EXPECT_TRUE(in) << "cannot open " << kTestdata;
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t count = 0;
  for (size_t pos = haystack.find(needle); pos != std::string_view::npos;
       pos = haystack.find(needle, pos + needle.size())) {
    ++count;
  }
  return count;
}

// Attribute values in `page` (lower case) that point outside the page:
// src=, href=, action=, srcset= values starting with http:, https: or //.
std::vector<std::string> ExternalReferences(std::string_view page) {
  std::vector<std::string> found;
  for (std::string_view attribute : {"src", "href", "action", "srcset"}) {
    for (size_t pos = page.find(attribute); pos != std::string_view::npos;
         pos = page.find(attribute, pos + 1)) {
      size_t i = pos + attribute.size();
      while (i < page.size() && page[i] == ' ') ++i;
      if (i >= page.size() || page[i] != '=') continue;
      ++i;
      while (i < page.size() && (page[i] == ' ' || page[i] == '"' || page[i] == '\'')) ++i;
      const std::string_view value = page.substr(i, 8);
      if (value.starts_with("http:") || value.starts_with("https:") || value.starts_with("//")) {
        found.emplace_back(page.substr(pos, 40));
      }
    }
  }
  return found;
}

// The text between `open` and the next "</script>"; empty if `open` is absent.
std::string ScriptBody(const std::string& page, std::string_view open) {
  const size_t start = page.find(open);
  if (start == std::string::npos) return "";
  const size_t body = start + open.size();
  const size_t end = page.find("</script>", body);
  if (end == std::string::npos) return "";
  return page.substr(body, end - body);
}

TEST(RenderReportHtmlTest, EmbedsTheReportAsJsonThatParsesBackUnchanged) {
  const nlohmann::json report = LoadTestdata();
  const std::string page = RenderReportHtml(report);

  ASSERT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  const std::string payload = ScriptBody(page, kReportOpen);
  ASSERT_FALSE(payload.empty()) << "no report payload in the page";
  EXPECT_EQ(nlohmann::json::parse(payload), report);
  EXPECT_NE(page.find("<title>tpslab run report: 20261128-054000-ftpd</title>"), std::string::npos);
}

TEST(RenderReportHtmlTest, EmbedsTheChartLibraryAndThePageScript) {
  const std::string page = RenderReportHtml(LoadTestdata());

  ASSERT_GT(report_assets::UplotJs().size(), 10000u);
  EXPECT_NE(page.find(report_assets::UplotJs()), std::string::npos);
  EXPECT_NE(page.find(report_assets::UplotCss()), std::string::npos);
  EXPECT_NE(page.find(report_assets::UplotLicense()), std::string::npos);
  EXPECT_NE(page.find(report_assets::ReportJs()), std::string::npos);
  EXPECT_NE(page.find(report_assets::ReportCss()), std::string::npos);
  EXPECT_NE(page.find("var uPlot="), std::string::npos);
  EXPECT_NE(page.find("Copyright (c) 2022 Leon Sorokin"), std::string::npos);
  EXPECT_NE(page.find("document.body.dataset.rendered"), std::string::npos);
}

TEST(RenderReportHtmlTest, LoadsNothingFromTheNetwork) {
  const std::string page = Lower(RenderReportHtml(LoadTestdata()));

  // No element attribute points anywhere outside the page.
  EXPECT_EQ(ExternalReferences(page), std::vector<std::string>());
  ASSERT_EQ(ExternalReferences(R"(<img src="https://x/y.png">)").size(), 1u);  // the check works
  ASSERT_EQ(ExternalReferences("<a href = '//cdn/x'>").size(), 1u);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("<script src"), std::string::npos);
  EXPECT_EQ(page.find("@import"), std::string::npos);
  EXPECT_EQ(page.find("url(http"), std::string::npos);
  EXPECT_EQ(page.find("url(//"), std::string::npos);
}

TEST(RenderReportHtmlTest, RunNameCannotCloseTheScriptElement) {
  nlohmann::json report = LoadTestdata();
  const std::string hostile = "</script><script>alert(1)</script><!-- </SCRIPT >";
  report["run"]["name"] = hostile;
  report["findings"][0]["message"] = hostile;

  const std::string page = RenderReportHtml(report);
  const std::string payload = ScriptBody(page, kReportOpen);

  ASSERT_FALSE(payload.empty());
  EXPECT_EQ(Lower(payload).find("</script"), std::string::npos);
  EXPECT_EQ(payload.find("<!--"), std::string::npos);
  EXPECT_EQ(payload.find('<'), std::string::npos);
  // Exactly the page's own four script elements: report, options, uPlot, report.js.
  EXPECT_EQ(Count(Lower(page), "<script"), 4u);
  EXPECT_EQ(Count(Lower(page), "</script"), 4u);
  EXPECT_EQ(page.find("alert(1)</script>"), std::string::npos);
  const nlohmann::json parsed = nlohmann::json::parse(payload);
  EXPECT_EQ(parsed["run"]["name"], hostile);
  EXPECT_EQ(parsed["findings"][0]["message"], hostile);
}

TEST(RenderReportHtmlTest, LineAndParagraphSeparatorsAreEscaped) {
  nlohmann::json report = LoadTestdata();
  const std::string separators = "a\u2028b\u2029c \u00e9";  // é must survive too
  report["run"]["name"] = separators;

  const std::string page = RenderReportHtml(report);
  const std::string payload = ScriptBody(page, kReportOpen);

  EXPECT_EQ(payload.find("\u2028"), std::string::npos);
  EXPECT_EQ(payload.find("\u2029"), std::string::npos);
  EXPECT_NE(payload.find("a\\u2028b\\u2029c \\u00e9"), std::string::npos) << payload.substr(0, 200);
  EXPECT_EQ(nlohmann::json::parse(payload)["run"]["name"], separators);
}

TEST(RenderReportHtmlTest, InvalidUtf8BecomesReplacementCharacter) {
  nlohmann::json report = LoadTestdata();
  report["run"]["name"] = std::string("bad \xff\xfe name");

  const std::string payload = ScriptBody(RenderReportHtml(report), kReportOpen);

  EXPECT_EQ(nlohmann::json::parse(payload)["run"]["name"], "bad \ufffd\ufffd name");
}

TEST(RenderReportHtmlTest, TitleIsHtmlEscaped) {
  const nlohmann::json report = {{"run", {{"id", "<b>x</b> & \"y\""}}}};

  const std::string page = RenderReportHtml(report);

  EXPECT_NE(page.find("<title>tpslab run report: &lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot;</title>"),
            std::string::npos);
}

TEST(RenderReportHtmlTest, StaticPageDoesNotPoll) {
  const std::string page = RenderReportHtml(LoadTestdata(), {.live = false, .report_url = "/x"});

  const nlohmann::json options = nlohmann::json::parse(ScriptBody(page, kOptionsOpen));

  EXPECT_EQ(options["live"], false);
  EXPECT_EQ(options["report_url"], "");
}

TEST(RenderReportHtmlTest, LivePageCarriesItsUrlSafely) {
  const std::string url = "/api/runs/a</script>b/report?x=1&y=2";

  const std::string page = RenderReportHtml(LoadTestdata(), {.live = true, .report_url = url});
  const std::string body = ScriptBody(page, kOptionsOpen);

  EXPECT_EQ(Lower(body).find("</script"), std::string::npos);
  const nlohmann::json options = nlohmann::json::parse(body);
  EXPECT_EQ(options["live"], true);
  EXPECT_EQ(options["report_url"], url);
}

TEST(RenderReportHtmlTest, AcceptsDocumentsThatAreNotObjects) {
  for (const nlohmann::json& report :
       {nlohmann::json(), nlohmann::json::object(), nlohmann::json::array({1, 2})}) {
    const std::string page = RenderReportHtml(report);
    EXPECT_EQ(nlohmann::json::parse(ScriptBody(page, kReportOpen)), report);
    EXPECT_NE(page.find("<title>tpslab run report</title>"), std::string::npos);
  }
}

TEST(ReportAssetsTest, AssetsCannotCloseTheElementsTheyAreEmbeddedIn) {
  EXPECT_EQ(Lower(report_assets::UplotJs()).find("</script"), std::string::npos);
  EXPECT_EQ(Lower(report_assets::ReportJs()).find("</script"), std::string::npos);
  // "<!--" followed by "<script" would switch the HTML parser into a state
  // where "</script>" no longer ends the element.
  EXPECT_EQ(report_assets::UplotJs().find("<!--"), std::string::npos);
  EXPECT_EQ(report_assets::ReportJs().find("<!--"), std::string::npos);
  EXPECT_EQ(Lower(report_assets::ReportJs()).find("<script"), std::string::npos);
  EXPECT_EQ(Lower(report_assets::UplotCss()).find("</style"), std::string::npos);
  EXPECT_EQ(Lower(report_assets::ReportCss()).find("</style"), std::string::npos);
  // The license sits in a /* */ comment in front of the library.
  EXPECT_EQ(report_assets::UplotLicense().find("*/"), std::string::npos);
  EXPECT_NE(report_assets::UplotLicense().find("MIT"), std::string::npos);
}

TEST(EscapeJsonForHtmlScriptTest, EscapesMarkupCharactersOnlyInsideStrings) {
  const nlohmann::json value = {{"a<b", "x>y&z"}, {"n", 1}};

  const std::string text = EscapeJsonForHtmlScript(value);

  EXPECT_EQ(text, R"({"a\u003cb":"x\u003ey\u0026z","n":1})");
  EXPECT_EQ(nlohmann::json::parse(text), value);
}

TEST(EscapeHtmlTest, ReplacesTheFiveSpecialCharacters) {
  EXPECT_EQ(EscapeHtml(R"(<a href="x">Tom & Jerry's</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(EscapeHtml("plain"), "plain");
}

}  // namespace
}  // namespace tpslab::analyzer
