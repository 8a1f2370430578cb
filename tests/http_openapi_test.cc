// The OpenAPI document (api/openapi.json, served at GET /openapi.json) kept
// equal to the router, live responses checked against it, and GET /metrics.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http_fixture.h"
#include "tillit/api/principals.h"
#include "tillit/api/routes.h"
#include "tillit/crypto/web_push.h"

namespace tillit::testing {
namespace {

// ------------------------------------------------------------ the document

const json& Doc() {
  static const json doc =
      json::parse(api::OpenApiDocument(), nullptr, /*allow_exceptions=*/false);
  return doc;
}

// The value a local "$ref" ("#/components/...") points at, or nullptr.
const json* Resolve(const json& doc, const std::string& ref) {
  if (ref.size() < 2 || ref.compare(0, 2, "#/") != 0) return nullptr;
  try {
    const json::json_pointer pointer(ref.substr(1));
    if (!doc.contains(pointer)) return nullptr;
    return &doc.at(pointer);
  } catch (const json::exception&) {
    return nullptr;
  }
}

// `node`, or what its $ref points at (following chains of references).
const json& Deref(const json& doc, const json& node) {
  const json* at = &node;
  for (int i = 0; i < 16 && at->is_object() && at->contains("$ref"); ++i) {
    const json* next = Resolve(doc, (*at)["$ref"].get<std::string>());
    if (next == nullptr) break;
    at = next;
  }
  return *at;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(c));
  return s;
}
std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(c));
  return s;
}

struct Operation {
  std::string method;  // GET, POST, ...
  std::string path;
  const json* item = nullptr;  // the path item
  const json* op = nullptr;
  std::string Name() const { return method + " " + path; }
};

std::vector<Operation> Operations(const json& doc) {
  static const char* kMethods[] = {"get",     "put",  "post",  "delete",
                                   "options", "head", "patch", "trace"};
  std::vector<Operation> out;
  if (!doc.contains("paths") || !doc["paths"].is_object()) return out;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const char* m : kMethods) {
      if (item.contains(m)) out.push_back({Upper(m), path, &item, &item[m]});
    }
  }
  return out;
}

std::optional<api::RouteInfo> FindRoute(const std::string& method,
                                        const std::string& path) {
  for (const api::RouteInfo& r : api::ListRoutes()) {
    if (r.method == method && r.path == path) return r;
  }
  return std::nullopt;
}

const json* FindOperation(const json& doc, const std::string& method,
                          const std::string& path) {
  if (!doc.contains("paths") || !doc["paths"].contains(path)) return nullptr;
  const json& item = doc["paths"][path];
  const std::string m = Lower(method);
  return item.contains(m) ? &item[m] : nullptr;
}

// The {names} of a path template, in order.
std::vector<std::string> PathParams(const std::string& path) {
  std::vector<std::string> out;
  static const std::regex kParam("\\{([^}/]+)\\}");
  for (auto it = std::sregex_iterator(path.begin(), path.end(), kParam);
       it != std::sregex_iterator(); ++it) {
    out.push_back((*it)[1].str());
  }
  return out;
}

// Parameters of an operation, references resolved, path-item ones first
// (an operation's parameter overrides the path item's of the same name and
// location).
std::vector<json> Parameters(const json& doc, const Operation& o) {
  std::map<std::pair<std::string, std::string>, json> by_key;
  std::vector<std::pair<std::string, std::string>> order;
  for (const json* list : {o.item, o.op}) {
    if (!list->contains("parameters")) continue;
    for (const json& p : (*list)["parameters"]) {
      const json& r = Deref(doc, p);
      const auto key = std::make_pair(r.value("in", std::string()),
                                      r.value("name", std::string()));
      if (by_key.count(key) == 0) order.push_back(key);
      by_key[key] = r;
    }
  }
  std::vector<json> out;
  for (const auto& k : order) out.push_back(by_key[k]);
  return out;
}

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const std::string& x : s) out += (out.empty() ? "" : ", ") + x;
  return out.empty() ? "(none)" : out;
}

std::set<std::string> RoleNames(uint32_t roles) {
  std::set<std::string> out;
  for (api::Role r : {api::kAnyone, api::kAdmin, api::kCitizen, api::kProvider,
                      api::kResearcher, api::kAuditor, api::kApp}) {
    if (roles & r) out.insert(std::string(api::RoleName(r)));
  }
  return out;
}

// ------------------------------------------------- a small schema checker
// Checks `value` against `schema` for the JSON Schema keywords the document
// uses ($ref, type, const, enum, required, properties,
// additionalProperties, items, allOf, oneOf, anyOf, minimum, maximum,
// minLength, maxLength, pattern), appending one line per problem.
void Validate(const json& doc, const json& schema_in, const json& value,
              const std::string& where, std::vector<std::string>* errors) {
  const json& schema = Deref(doc, schema_in);
  auto fail = [&](const std::string& what) {
    errors->push_back((where.empty() ? "(root)" : where) + ": " + what);
  };
  if (schema.is_boolean()) {
    if (!schema.get<bool>()) fail("no value is allowed here");
    return;
  }
  if (!schema.is_object()) return;
  if (schema.contains("$ref")) {  // Deref stopped: it does not resolve
    fail("unresolvable $ref " + schema["$ref"].dump());
    return;
  }
  if (schema.contains("type")) {
    std::vector<std::string> types;
    if (schema["type"].is_array()) {
      for (const json& t : schema["type"])
        types.push_back(t.get<std::string>());
    } else {
      types.push_back(schema["type"].get<std::string>());
    }
    auto is = [&](const std::string& t) {
      if (t == "object") return value.is_object();
      if (t == "array") return value.is_array();
      if (t == "string") return value.is_string();
      if (t == "integer") return value.is_number_integer();
      if (t == "number") return value.is_number();
      if (t == "boolean") return value.is_boolean();
      if (t == "null") return value.is_null();
      return false;
    };
    if (std::none_of(types.begin(), types.end(), is)) {
      fail("expected type " + schema["type"].dump() + ", got " + value.dump());
      return;
    }
  }
  if (schema.contains("const") && value != schema["const"]) {
    fail("expected " + schema["const"].dump() + ", got " + value.dump());
  }
  if (schema.contains("enum")) {
    const json& e = schema["enum"];
    if (std::find(e.begin(), e.end(), value) == e.end()) {
      fail(value.dump() + " is not one of " + e.dump());
    }
  }
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (schema.contains("minLength") &&
        s.size() < schema["minLength"].get<size_t>()) {
      fail("shorter than minLength");
    }
    if (schema.contains("maxLength") &&
        s.size() > schema["maxLength"].get<size_t>()) {
      fail("longer than maxLength");
    }
    if (schema.contains("pattern") &&
        !std::regex_search(s, std::regex(schema["pattern"].get<std::string>(),
                                         std::regex::ECMAScript))) {
      fail(value.dump() + " does not match " + schema["pattern"].dump());
    }
  }
  if (value.is_number()) {
    if (schema.contains("minimum") &&
        value.get<double>() < schema["minimum"].get<double>()) {
      fail(value.dump() + " is below the minimum");
    }
    if (schema.contains("maximum") &&
        value.get<double>() > schema["maximum"].get<double>()) {
      fail(value.dump() + " is above the maximum");
    }
  }
  if (value.is_object()) {
    if (schema.contains("required")) {
      for (const json& name : schema["required"]) {
        if (!value.contains(name.get<std::string>())) {
          fail("missing required " + name.dump());
        }
      }
    }
    const json empty = json::object();
    const json& props =
        schema.contains("properties") ? schema["properties"] : empty;
    for (const auto& [key, v] : value.items()) {
      if (props.contains(key)) {
        Validate(doc, props[key], v, where + "/" + key, errors);
      } else if (schema.contains("additionalProperties")) {
        Validate(doc, schema["additionalProperties"], v, where + "/" + key,
                 errors);
      }
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < value.size(); ++i) {
      Validate(doc, schema["items"], value[i], where + "/" + std::to_string(i),
               errors);
    }
  }
  if (schema.contains("allOf")) {
    for (const json& sub : schema["allOf"]) {
      Validate(doc, sub, value, where, errors);
    }
  }
  for (const char* k : {"oneOf", "anyOf"}) {
    if (!schema.contains(k)) continue;
    int matches = 0;
    for (const json& sub : schema[k]) {
      std::vector<std::string> sub_errors;
      Validate(doc, sub, value, where, &sub_errors);
      if (sub_errors.empty()) ++matches;
    }
    if (std::string(k) == "oneOf" ? matches != 1 : matches == 0) {
      fail(value.dump() + " matches " + std::to_string(matches) +
           " alternatives of " + k);
    }
  }
}

std::string Problems(const std::vector<std::string>& errors) {
  std::string out;
  for (const std::string& e : errors) out += "\n  " + e;
  return out;
}

// The schema the document gives for `status` of an operation (its first
// media type), or nullptr.
const json* ResponseSchema(const json& doc, const std::string& method,
                           const std::string& path, int status) {
  const json* op = FindOperation(doc, method, path);
  if (op == nullptr || !op->contains("responses")) return nullptr;
  const std::string code = std::to_string(status);
  if (!(*op)["responses"].contains(code)) return nullptr;
  const json& r = Deref(doc, (*op)["responses"][code]);
  if (!r.contains("content") || r["content"].empty()) return nullptr;
  const json& media = r["content"].begin().value();
  return media.contains("schema") ? &media["schema"] : nullptr;
}

// ------------------------------------------------------ document-only tests

class OpenApiDocumentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Doc().is_discarded()) << "api/openapi.json is not JSON";
    ASSERT_TRUE(Doc().is_object());
  }
};

TEST_F(OpenApiDocumentTest, IsOpenApi31WithTheBasics) {
  const json& doc = Doc();
  ASSERT_TRUE(doc.contains("openapi") && doc["openapi"].is_string());
  EXPECT_EQ(doc["openapi"].get<std::string>().rfind("3.1", 0), 0u)
      << doc["openapi"];
  ASSERT_TRUE(doc.contains("info"));
  EXPECT_TRUE(doc["info"].contains("title"));
  EXPECT_TRUE(doc["info"].contains("version"));
  ASSERT_TRUE(doc.contains("servers") && doc["servers"].is_array());
  ASSERT_FALSE(doc["servers"].empty());
  EXPECT_EQ(doc["servers"][0].value("url", ""), "/");
  const json& bearer = doc.at("components").at("securitySchemes").at("bearer");
  EXPECT_EQ(bearer["type"], "http");
  EXPECT_EQ(bearer["scheme"], "bearer");
  const json& device =
      doc.at("components").at("securitySchemes").at("deviceSignature");
  EXPECT_EQ(device["in"], "header");
  EXPECT_EQ(device["name"], "Signature");
}

TEST_F(OpenApiDocumentTest, PathsAndMethodsEqualTheRouter) {
  std::set<std::string> documented;
  for (const Operation& o : Operations(Doc())) documented.insert(o.Name());
  std::set<std::string> routed;
  for (const api::RouteInfo& r : api::ListRoutes()) {
    EXPECT_TRUE(routed.insert(r.method + " " + r.path).second)
        << "the router lists " << r.method << " " << r.path << " twice";
  }
  std::set<std::string> only_doc, only_router;
  std::set_difference(documented.begin(), documented.end(), routed.begin(),
                      routed.end(), std::inserter(only_doc, only_doc.end()));
  std::set_difference(routed.begin(), routed.end(), documented.begin(),
                      documented.end(),
                      std::inserter(only_router, only_router.end()));
  EXPECT_TRUE(only_doc.empty() && only_router.empty())
      << "in the document but not the router: " << Join(only_doc)
      << "\nin the router but not the document: " << Join(only_router);
}

TEST_F(OpenApiDocumentTest, ParametersRolesAndSecurityMatchEachRoute) {
  const json& doc = Doc();
  const json top_security =
      doc.contains("security") ? doc["security"] : json::array();
  int checked = 0;
  for (const Operation& o : Operations(doc)) {
    auto route = FindRoute(o.method, o.path);
    if (!route) continue;  // reported by PathsAndMethodsEqualTheRouter
    ++checked;
    SCOPED_TRACE(o.Name());
    const json& op = *o.op;

    // Path parameters: exactly the template's names, all required.
    const std::vector<std::string> names = PathParams(o.path);
    const std::set<std::string> want_path(names.begin(), names.end());
    EXPECT_EQ(want_path.size(), names.size()) << "a name repeats in the path";
    std::set<std::string> path_params, query_params;
    for (const json& p : Parameters(doc, o)) {
      const std::string name = p.value("name", std::string());
      const std::string in = p.value("in", std::string());
      EXPECT_FALSE(name.empty()) << p.dump();
      EXPECT_TRUE(p.contains("schema")) << name << " has no schema";
      EXPECT_FALSE(p.value("description", std::string()).empty())
          << name << " has no description";
      if (in == "path") {
        path_params.insert(name);
        EXPECT_EQ(p.value("required", false), true)
            << "path parameter " << name << " must be required";
      } else if (in == "query") {
        EXPECT_TRUE(query_params.insert(name).second) << name << " twice";
      } else if (in == "header") {
        // The header parameters handlers read: a new record's
        // Idempotency-Key, a proxy's stated purpose, and Prefer of a
        // release.
        const bool on_behalf =
            o.path.rfind("/v1/citizens/{citizen_id}", 0) == 0;
        const bool idempotency =
            o.method == "POST" && name == "Idempotency-Key" &&
            (o.path == "/v1/me/records" ||
             o.path == "/v1/citizens/{citizen_id}/records");
        // A release made in the background.
        const bool async_release = o.method == "POST" && name == "Prefer" &&
                                   o.path == "/v1/studies/{id}/releases";
        EXPECT_TRUE(idempotency || async_release ||
                    (on_behalf && name == "Tillit-Purpose"))
            << o.Name() << " reads no header " << name;
      } else {
        ADD_FAILURE() << "parameter " << name << " in " << in
                      << ": the router reads only path and query parameters";
      }
    }
    EXPECT_EQ(path_params, want_path)
        << "documented path parameters: " << Join(path_params)
        << "; the path has: " << Join(want_path);
    const std::set<std::string> want_query(route->query.begin(),
                                           route->query.end());
    EXPECT_EQ(query_params, want_query)
        << "documented query parameters: " << Join(query_params)
        << "; the router accepts: " << Join(want_query);

    // Who may call it.
    ASSERT_TRUE(op.contains("x-tillit-roles")) << "no x-tillit-roles";
    std::set<std::string> roles;
    for (const json& r : op["x-tillit-roles"])
      roles.insert(r.get<std::string>());
    EXPECT_EQ(roles, RoleNames(route->roles))
        << "documented roles: " << Join(roles)
        << "; the router: " << Join(RoleNames(route->roles));
    const json& security =
        op.contains("security") ? op["security"] : top_security;
    ASSERT_TRUE(security.is_array());
    if (route->roles & api::kAnyone) {
      EXPECT_TRUE(security.empty())
          << "a route anyone may call must declare security: []";
    } else {
      ASSERT_FALSE(security.empty()) << "a token route must need the bearer";
      // Citizen routes also take a paired device's signature.
      json want = json::array({{{"bearer", json::array()}}});
      if (route->roles & api::kCitizen)
        want.push_back({{"deviceSignature", json::array()}});
      EXPECT_EQ(security, want);
    }
  }
  EXPECT_GT(checked, 0);
}

TEST_F(OpenApiDocumentTest, OperationsHaveIdsTagsSuccessAndAuthErrors) {
  const json& doc = Doc();
  std::set<std::string> tags;
  for (const json& t : doc.at("tags"))
    tags.insert(t.at("name").get<std::string>());
  const json top_security =
      doc.contains("security") ? doc["security"] : json::array();
  std::set<std::string> ids;
  for (const Operation& o : Operations(doc)) {
    SCOPED_TRACE(o.Name());
    const json& op = *o.op;
    const std::string id = op.value("operationId", std::string());
    EXPECT_FALSE(id.empty()) << "no operationId";
    EXPECT_TRUE(ids.insert(id).second) << "operationId " << id << " twice";
    EXPECT_FALSE(op.value("summary", std::string()).empty()) << "no summary";
    ASSERT_TRUE(op.contains("tags") && !op["tags"].empty()) << "no tags";
    for (const json& t : op["tags"]) {
      EXPECT_EQ(tags.count(t.get<std::string>()), 1u)
          << "tag " << t << " is not declared";
    }
    ASSERT_TRUE(op.contains("responses")) << "no responses";
    const json& responses = op["responses"];
    bool success = false;
    for (const auto& [code, r] : responses.items()) {
      // A redirect is the success of /fhir/authorize.
      if (code.size() == 3 && (code[0] == '2' || code == "302")) success = true;
      EXPECT_TRUE(Deref(doc, r).contains("description"))
          << code << " has no description";
      if (code[0] == '4' || code[0] == '5') {
        const json* schema =
            ResponseSchema(doc, o.method, o.path, std::stoi(code));
        ASSERT_NE(schema, nullptr) << code << " has no schema";
        // The FHIR interface answers errors as OperationOutcomes.
        // The token endpoint's 400s are OAuth 2 error objects (RFC 6749).
        const char* error =
            o.path == "/fhir/token" && code == "400" ? "OAuthError"
            : o.path.rfind("/fhir/", 0) == 0         ? "OperationOutcome"
                                                     : "Error";
        EXPECT_EQ(Deref(doc, *schema),
                  doc.at("components").at("schemas").at(error))
            << code << " is not an " << error;
      }
    }
    EXPECT_TRUE(success) << "no 2xx response";
    const json& security =
        op.contains("security") ? op["security"] : top_security;
    if (!security.empty()) {
      for (const char* code : {"401", "403", "429"}) {
        EXPECT_TRUE(responses.contains(code)) << "no " << code << " response";
      }
    }
    if (op.contains("requestBody")) {
      EXPECT_TRUE(responses.contains("413")) << "a body but no 413";
    }
  }
}

TEST_F(OpenApiDocumentTest, BodyLimitsAreDescribed) {
  const json& doc = Doc();
  for (const Operation& o : Operations(doc)) {
    auto route = FindRoute(o.method, o.path);
    if (!route || !o.op->contains("requestBody")) continue;
    SCOPED_TRACE(o.Name());
    const std::string text =
        o.op->value("description", std::string()) +
        Deref(doc, (*o.op)["requestBody"]).value("description", std::string());
    EXPECT_NE(text.find(route->large_body ? "64 MiB" : "1 MiB"),
              std::string::npos)
        << "the description does not state the body limit";
    // Only JSON has a nesting depth (/fhir/token takes a form).
    if (Deref(doc, (*o.op)["requestBody"])["content"].contains(
            "application/json")) {
      EXPECT_NE(text.find("depth of 64"), std::string::npos)
          << "the description does not state the nesting limit";
    }
  }
  // Every route that takes large bodies documents one.
  for (const api::RouteInfo& r : api::ListRoutes()) {
    const json* op = FindOperation(doc, r.method, r.path);
    if (r.large_body && op != nullptr) {
      EXPECT_TRUE(op->contains("requestBody")) << r.method << " " << r.path;
    }
  }
}

TEST_F(OpenApiDocumentTest, EveryRefResolvesInsideTheDocument) {
  const json& doc = Doc();
  std::vector<std::string> bad;
  int refs = 0;
  std::function<void(const json&, const std::string&)> walk =
      [&](const json& node, const std::string& where) {
        if (node.is_object()) {
          for (const auto& [k, v] : node.items()) {
            if (k == "$ref") {
              ++refs;
              if (!v.is_string() || Resolve(doc, v) == nullptr) {
                bad.push_back(where + ": " + v.dump());
              }
            } else {
              walk(v, where + "/" + k);
            }
          }
        } else if (node.is_array()) {
          for (size_t i = 0; i < node.size(); ++i) {
            walk(node[i], where + "/" + std::to_string(i));
          }
        }
      };
  walk(doc, "");
  EXPECT_GT(refs, 0);
  EXPECT_TRUE(bad.empty()) << "unresolvable references:" << Problems(bad);
}

TEST_F(OpenApiDocumentTest, ErrorSchemaRequiresCodeMessageAndRequestId) {
  const json& error =
      Deref(Doc(), Doc().at("components").at("schemas").at("Error"));
  ASSERT_TRUE(error.contains("required"));
  EXPECT_EQ(error["required"], json::array({"error"}));
  const json& inner = Deref(Doc(), error.at("properties").at("error"));
  std::set<std::string> required;
  for (const json& r : inner.at("required"))
    required.insert(r.get<std::string>());
  EXPECT_EQ(required, (std::set<std::string>{"code", "message", "request_id"}));
  for (const char* field : {"code", "message", "request_id"}) {
    EXPECT_EQ(Deref(Doc(), inner.at("properties").at(field)).value("type", ""),
              "string")
        << field;
  }
}

// The checker the live tests rely on does refuse wrong shapes.
TEST_F(OpenApiDocumentTest, SchemaCheckerRefusesWrongShapes) {
  const json& doc = Doc();
  const json error = {{"$ref", "#/components/schemas/Error"}};
  std::vector<std::string> errors;
  Validate(
      doc, error,
      json::parse(R"({"error":{"code":"x","message":"m","request_id":"r"}})"),
      "", &errors);
  EXPECT_TRUE(errors.empty()) << Problems(errors);
  for (const char* wrong :
       {R"({"error":{"code":"x","message":"m"}})",
        R"({"error":{"code":1,"message":"m","request_id":"r"}})",
        R"({"code":"x","message":"m","request_id":"r"})", R"([])"}) {
    errors.clear();
    Validate(doc, error, json::parse(wrong), "", &errors);
    EXPECT_FALSE(errors.empty()) << wrong;
  }
  const json count = {{"$ref", "#/components/schemas/Count"}};
  for (const char* good : {"\"<10\"", "10", "12345"}) {
    errors.clear();
    Validate(doc, count, json::parse(good), "", &errors);
    EXPECT_TRUE(errors.empty()) << good << Problems(errors);
  }
  for (const char* wrong : {"\"9\"", "9", "null"}) {
    errors.clear();
    Validate(doc, count, json::parse(wrong), "", &errors);
    EXPECT_FALSE(errors.empty()) << wrong;
  }
  errors.clear();
  Validate(doc, {{"$ref", "#/components/schemas/NewCitizen"}},
           {{"citizen_id", "p_00000000000000000000000000000000"},
            {"enrollment_code", "x"},
            {"expires", 1}},
           "", &errors);
  EXPECT_EQ(errors.size(), 1u) << Problems(errors);
}

// -------------------------------------------------- against a live server

// JSON bodies limited to 64 KiB, so that a too-large body is cheap to send.
class OpenApiServerTest : public HttpTest {
 protected:
  void Configure(api::ServerOptions& o) override {
    o.max_json_bytes = 64 << 10;
  }
};

TEST_F(OpenApiServerTest, ServesTheEmbeddedDocument) {
  Reply r = Get("/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, std::string(api::OpenApiDocument()));
  EXPECT_EQ(r.Header("Content-Type").rfind("application/json", 0), 0u)
      << r.Header("Content-Type");
  const json served = r.Json();
  ASSERT_FALSE(served.is_discarded());
  ASSERT_TRUE(served.contains("openapi"));
  EXPECT_EQ(served["openapi"].get<std::string>().rfind("3.1", 0), 0u);
  // No token is needed, and a token does not change the answer.
  Principal c = NewCitizen();
  EXPECT_EQ(Get("/openapi.json", c.token).body, r.body);
}

// The media type of a reply (lower case, without parameters).
std::string MediaTypeOf(const Reply& r) {
  std::string type = Lower(r.Header("Content-Type"));
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  return type;
}

// A reply checked against what the document lists for its route and
// status: the media type must be one it names, and a JSON body must
// satisfy that media type's schema.
::testing::AssertionResult Conforms(const std::string& method,
                                    const std::string& path, const Reply& r) {
  const json* op = FindOperation(Doc(), method, path);
  if (op == nullptr) {
    return ::testing::AssertionFailure()
           << method << " " << path << " is not in the document";
  }
  const std::string status = std::to_string(r.status);
  if (!op->contains("responses") || !(*op)["responses"].contains(status)) {
    return ::testing::AssertionFailure()
           << method << " " << path << " answered " << r.status
           << ", which the document does not list: " << r.body.substr(0, 300);
  }
  const json& response = Deref(Doc(), (*op)["responses"][status]);
  if (!response.contains("content")) {
    return r.body.empty() ? ::testing::AssertionSuccess()
                          : ::testing::AssertionFailure()
                                << method << " " << path << " " << r.status
                                << " has a body the document does not list";
  }
  const std::string media = MediaTypeOf(r);
  if (!response["content"].contains(media)) {
    return ::testing::AssertionFailure()
           << method << " " << path << " " << r.status << " answered " << media
           << "; the document lists "
           << response["content"].dump().substr(0, 200);
  }
  const json& schema = response["content"][media].value("schema", json());
  json body;
  const bool ndjson =
      media.size() >= 6 && media.compare(media.size() - 6, 6, "ndjson") == 0;
  if (!ndjson && media.size() >= 4 &&
      media.compare(media.size() - 4, 4, "json") == 0) {
    body = r.Json();
    if (body.is_discarded()) {
      return ::testing::AssertionFailure()
             << method << " " << path
             << ": not JSON: " << r.body.substr(0, 300);
    }
  } else {
    body = r.body;
  }
  std::vector<std::string> errors;
  Validate(Doc(), schema, body, "", &errors);
  if (!errors.empty()) {
    return ::testing::AssertionFailure()
           << method << " " << path << " " << r.status << " "
           << r.body.substr(0, 500) << Problems(errors);
  }
  return ::testing::AssertionSuccess();
}

TEST_F(OpenApiServerTest, ErrorsMatchTheErrorSchema) {
  Reply missing = Get("/v1/nope");
  ASSERT_EQ(missing.status, 404);
  // By hand: three strings, the request id the same as the header's.
  const json e = missing.Json();
  ASSERT_TRUE(e.is_object() && e.contains("error")) << missing.body;
  for (const char* field : {"code", "message", "request_id"}) {
    ASSERT_TRUE(e["error"].contains(field)) << field;
    EXPECT_TRUE(e["error"][field].is_string()) << field;
  }
  EXPECT_EQ(e["error"]["request_id"], missing.Header("X-Request-Id"));
  std::vector<std::string> errors;
  Validate(Doc(), {{"$ref", "#/components/schemas/Error"}}, e, "", &errors);
  EXPECT_TRUE(errors.empty()) << Problems(errors);

  // Errors of documented routes, against the schema the route lists.
  Principal c = NewCitizen();
  EXPECT_TRUE(Conforms("POST", "/v1/admin/citizens",
                       Post("/v1/admin/citizens", "{}")));  // 401
  EXPECT_TRUE(Conforms("POST", "/v1/admin/citizens",
                       Post("/v1/admin/citizens", "{}", c.token)));  // 403
  EXPECT_TRUE(Conforms("GET", "/healthz", Get("/healthz?x=1")));     // 400
  EXPECT_TRUE(Conforms("POST", "/v1/admin/providers",
                       Post("/v1/admin/providers", "{\"name\":", admin_)));
  EXPECT_TRUE(
      Conforms("POST", "/v1/admin/citizens/{citizen_id}/enrollment-code",
               Post("/v1/admin/citizens/c_00000000000000000000000000000000/"
                    "enrollment-code",
                    "", admin_)));  // 404
  EXPECT_TRUE(Conforms("POST", "/v1/enroll",
                       Post("/v1/enroll", R"({"enrollment_code":"no"})")));
  const std::string big(100u << 10, ' ');
  EXPECT_TRUE(Conforms("POST", "/v1/admin/providers",
                       Post("/v1/admin/providers", big, admin_)));  // 413
  server_->FailAuditWriteForTesting(1);
  EXPECT_TRUE(
      Conforms("POST", "/v1/admin/auditors",
               Post("/v1/admin/auditors", R"({"name":"IVO"})", admin_)));
}

TEST_F(OpenApiServerTest, LiveAnswersMatchTheirSchemas) {
  EXPECT_TRUE(Conforms("GET", "/healthz", Get("/healthz")));
  Reply c = Post("/v1/admin/citizens", "", admin_);
  ASSERT_EQ(c.status, 201);
  EXPECT_TRUE(Conforms("POST", "/v1/admin/citizens", c));
  const std::string id = c.Json()["citizen_id"];
  Reply code =
      Post("/v1/admin/citizens/" + id + "/enrollment-code", "{}", admin_);
  EXPECT_TRUE(Conforms(
      "POST", "/v1/admin/citizens/{citizen_id}/enrollment-code", code));
  EXPECT_TRUE(Conforms(
      "POST", "/v1/enroll",
      Post("/v1/enroll",
           json{{"enrollment_code", code.Json()["enrollment_code"]}}.dump())));
  const std::string key = crypto::Base64Encode(
      crypto::BoxKeyPair::Generate(crypto::Random::System()).public_key);
  EXPECT_TRUE(Conforms("POST", "/v1/admin/researchers",
                       Post("/v1/admin/researchers",
                            json{{"name", "Ada"},
                                 {"organization", "KI"},
                                 {"org_type", "academic"},
                                 {"country", "SE"},
                                 {"public_key", key}}
                                .dump(),
                            admin_)));
  EXPECT_TRUE(
      Conforms("POST", "/v1/admin/providers",
               Post("/v1/admin/providers",
                    R"({"name":"Sahlgrenska","organization":"VGR"})", admin_)));
  EXPECT_TRUE(
      Conforms("POST", "/v1/admin/auditors",
               Post("/v1/admin/auditors", R"({"name":"IVO"})", admin_)));
  // The document itself as its own 200 answer.
  EXPECT_TRUE(Conforms("GET", "/openapi.json", Get("/openapi.json")));
}

// Every route, called with the roles the document names, answers with a
// status, media type and body the document describes.
TEST_F(OpenApiServerTest, EveryRouteAnswersAsDocumented) {
  std::set<std::string> called;
  // Checks one reply and remembers that the route was exercised.
  auto check = [&](const std::string& method, const std::string& route,
                   const Reply& r, int want) {
    called.insert(method + " " + route);
    EXPECT_EQ(r.status, want) << method << " " << route << ": " << r.body;
    EXPECT_TRUE(Conforms(method, route, r));
    return r;
  };

  // Public.
  check("GET", "/healthz", Get("/healthz"), 200);
  check("GET", "/metrics", Get("/metrics"), 200);
  check("GET", "/openapi.json", Get("/openapi.json"), 200);
  check("GET", "/v1/audit/public-key", Get("/v1/audit/public-key"), 200);

  // Operator and enrollment.
  Reply created = check("POST", "/v1/admin/citizens",
                        Post("/v1/admin/citizens", "", admin_), 201);
  const std::string cid = created.Json().value("citizen_id", "");
  Reply code = check(
      "POST", "/v1/admin/citizens/{citizen_id}/enrollment-code",
      Post("/v1/admin/citizens/" + cid + "/enrollment-code", "{}", admin_),
      201);
  Reply enrolled = check(
      "POST", "/v1/enroll",
      Post("/v1/enroll",
           json{{"enrollment_code", code.Json().value("enrollment_code", "")}}
               .dump()),
      200);
  const std::string citizen = enrolled.Json().value("token", "");
  const std::string key = crypto::Base64Encode(
      crypto::BoxKeyPair::Generate(crypto::Random::System()).public_key);
  Reply researcher = check("POST", "/v1/admin/researchers",
                           Post("/v1/admin/researchers",
                                json{{"name", "Ada"},
                                     {"organization", "KI"},
                                     {"org_type", "academic"},
                                     {"country", "SE"},
                                     {"public_key", key}}
                                    .dump(),
                                admin_),
                           201);
  Reply provider =
      check("POST", "/v1/admin/providers",
            Post("/v1/admin/providers",
                 R"({"name":"Sahlgrenska","organization":"VGR"})", admin_),
            201);
  Reply auditor =
      check("POST", "/v1/admin/auditors",
            Post("/v1/admin/auditors", R"({"name":"IVO"})", admin_), 201);
  const std::string pid = provider.Json().value("provider_id", "");
  const std::string ptoken = provider.Json().value("token", "");
  const std::string rtoken = researcher.Json().value("token", "");
  const std::string atoken = auditor.Json().value("token", "");

  // Citizen: records.
  check("POST", "/v1/me/import",
        Post("/v1/me/import", SyntheticBundle(0), citizen,
             "application/fhir+json"),
        200);
  check("GET", "/v1/me", Get("/v1/me", citizen), 200);
  Reply page = check("GET", "/v1/me/records",
                     Get("/v1/me/records?limit=2", citizen), 200);
  ASSERT_TRUE(page.Json()["next"].is_string()) << page.body;
  check("GET", "/v1/me/records",
        Get("/v1/me/records?limit=2&cursor=" +
                page.Json()["next"].get<std::string>(),
            citizen),
        200);
  const json first = page.Json()["records"].at(0);
  const std::string record =
      first.value("resourceType", "") + "/" + first.value("id", "");
  check("GET", "/v1/me/records/{type}/{id}",
        Get("/v1/me/records/" + record, citizen), 200);
  check("GET", "/v1/me/records/{type}/{id}",
        Get("/v1/me/records/Observation/nothing-here", citizen), 404);
  Reply mood = check("POST", "/v1/me/records",
                     Post("/v1/me/records",
                          R"({"resourceType":"Observation","status":"final",)"
                          R"("code":{"text":"mood"},"valueString":"good"})",
                          citizen),
                     201);
  const std::string mood_path =
      "/v1/me/records/Observation/" + mood.Json().value("id", "");
  check("PUT", "/v1/me/records/{type}/{id}",
        Put(mood_path,
            R"({"resourceType":"Observation","status":"final",)"
            R"("code":{"text":"mood"},"valueString":"fine"})",
            citizen),
        200);
  // A record of the region's (the operator's import): corrected only by a
  // request.
  ASSERT_TRUE(vault_
                  ->Import(R"({"resourceType":"Observation","id":"region-1",)"
                           R"("status":"final","code":{"text":"x"}})",
                           vault::ImportFormat::kJson, cid)
                  .ok());
  check("PUT", "/v1/me/records/{type}/{id}",
        Put("/v1/me/records/Observation/region-1",
            R"({"resourceType":"Observation","status":"final",)"
            R"("code":{"text":"y"}})",
            citizen),
        409);
  check("GET", "/v1/me/records/{type}/{id}/history",
        Get(mood_path + "/history", citizen), 200);
  check("GET", "/v1/me/export", Get("/v1/me/export", citizen), 200);

  // Citizen: consents, restrictions, opt-out.
  const json provider_grant = {
      {"grantee", {{"kind", "provider"}, {"id", pid}}},
      {"purposes", {"DUO:0000043"}},
      {"categories",
       {"patient-summary", "lab-results", "vital-signs", "encounters"}}};
  check("POST", "/v1/me/consents",
        Post("/v1/me/consents", provider_grant.dump(), citizen), 201);
  const json research_grant = {{"grantee", {{"kind", "any-researcher"}}},
                               {"purposes", {"DUO:0000006"}},
                               {"categories", {"lab-results"}}};
  check("POST", "/v1/me/consents/preview",
        Post("/v1/me/consents/preview", research_grant.dump(), citizen), 200);
  Reply granted =
      check("POST", "/v1/me/consents",
            Post("/v1/me/consents", research_grant.dump(), citizen), 201);
  check("GET", "/v1/me/consents", Get("/v1/me/consents", citizen), 200);
  check("PUT", "/v1/me/restrictions",
        Put("/v1/me/restrictions", R"({"categories":["financial"]})", citizen),
        200);
  check("GET", "/v1/me/restrictions", Get("/v1/me/restrictions", citizen), 200);
  check("GET", "/v1/me/research-opt-out",
        Get("/v1/me/research-opt-out", citizen), 200);
  check("PUT", "/v1/me/research-opt-out",
        Put("/v1/me/research-opt-out", R"({"opted_out":false})", citizen), 200);
  check("GET", "/v1/me/primary-use-opt-out",
        Get("/v1/me/primary-use-opt-out", citizen), 200);
  check("PUT", "/v1/me/primary-use-opt-out",
        Put("/v1/me/primary-use-opt-out", R"({"opted_out":false})", citizen),
        200);
  check("GET", "/v1/me/notifications", Get("/v1/me/notifications", citizen),
        200);
  check("PUT", "/v1/me/notifications",
        Put("/v1/me/notifications", R"({"mode":"every-access"})", citizen),
        200);
  check("PUT", "/v1/me/notifications",
        Put("/v1/me/notifications", R"({"mode":"loud"})", citizen), 400);
  const json push_subscription = {
      {"endpoint", "https://fcm.googleapis.com/fcm/send/openapi"},
      {"expirationTime", nullptr},
      {"keys",
       {{"p256dh",
         crypto::Base64UrlEncode(crypto::P256Key::Generate()->public_key())},
        {"auth", "BTBZMqHH6r4Tts7J_aSIgg"}}}};
  Reply subscribed = check(
      "POST", "/v1/me/push-subscriptions",
      Post("/v1/me/push-subscriptions", push_subscription.dump(), citizen),
      201);
  check("POST", "/v1/me/push-subscriptions",
        Post("/v1/me/push-subscriptions", "{}", citizen), 400);
  const std::string subscription_path =
      "/v1/me/push-subscriptions/" + subscribed.Json().value("id", "");
  check("DELETE", "/v1/me/push-subscriptions/{id}",
        Delete(subscription_path, citizen), 200);
  check("DELETE", "/v1/me/push-subscriptions/{id}",
        Delete(subscription_path, citizen), 404);

  // Provider.
  const std::string patient = "/v1/patients/" + cid;
  Reply seen = check("GET", "/v1/patients/{citizen_id}/records",
                     Get(patient + "/records?limit=3", ptoken), 200);
  ASSERT_FALSE(seen.Json()["records"].empty()) << seen.body;
  const json shown = seen.Json()["records"].at(0);
  check("GET", "/v1/patients/{citizen_id}/records/{type}/{id}",
        Get(patient + "/records/" + shown.value("resourceType", "") + "/" +
                shown.value("id", ""),
            ptoken),
        200);
  check("POST", "/v1/patients/{citizen_id}/records",
        Post(patient + "/records",
             R"({"resourceType":"Observation","id":"bp-1","status":"final",)"
             R"("code":{"text":"blood pressure"}})",
             ptoken),
        201);
  check("POST", "/v1/patients/{citizen_id}/break-glass",
        Post(patient + "/break-glass",
             R"({"reason":"unconscious in the emergency room","hours":2})",
             ptoken),
        201);
  check("GET", "/v1/patients/{citizen_id}/records",
        Get("/v1/patients/c_00000000000000000000000000000000/records", ptoken),
        404);

  // The FHIR interface, as the citizen and the provider.
  std::string patient_id;
  const json bundle0 = json::parse(SyntheticBundle(0));
  for (const json& e : bundle0["entry"]) {
    if (e["resource"]["resourceType"] == "Patient")
      patient_id = e["resource"]["id"];
  }
  check("GET", "/fhir/metadata", Get("/fhir/metadata"), 200);
  check("GET", "/fhir/metadata", Get("/fhir/metadata?_format=xml"), 406);
  check("GET", "/fhir/{type}", Get("/fhir/Observation?_count=2", citizen), 200);
  check("GET", "/fhir/{type}",
        Get("/fhir/Observation?_count=2&patient=" + patient_id, ptoken), 200);
  check("GET", "/fhir/{type}", Get("/fhir/Observation?date=x", citizen), 400);
  check("GET", "/fhir/{type}", Get("/fhir/Observation"), 401);
  check("GET", "/fhir/{type}", Get("/fhir/Observation", atoken), 403);
  check("GET", "/fhir/{type}", Get("/fhir/Basic", citizen), 404);
  check("GET", "/fhir/{type}/{id}", Get("/fhir/Patient/" + patient_id, citizen),
        200);
  check("GET", "/fhir/{type}/{id}", Get("/fhir/Observation/none", citizen),
        404);
  check("GET", "/fhir/Patient/{id}/$everything",
        Get("/fhir/Patient/" + patient_id + "/$everything?_count=5", citizen),
        200);
  check("GET", "/fhir/Patient/{id}/$everything",
        Get("/fhir/Patient/" + patient_id + "/$everything?_count=5", ptoken),
        200);
  check("GET", "/fhir/Patient/{id}/$summary",
        Get("/fhir/Patient/" + patient_id + "/$summary", citizen), 200);
  check("GET", "/fhir/Patient/{id}/$summary",
        Get("/fhir/Patient/nobody/$summary", citizen), 404);

  // Bulk Data export: kick-off, status until the manifest, a file, cancel.
  auto kickoff = [&](const std::string& prefer) {
    httplib::Headers h = Auth(citizen);
    if (!prefer.empty()) h.emplace("Prefer", prefer);
    return From(Client()->Get(
        ("/fhir/Patient/" + patient_id + "/$export?_type=Observation").c_str(),
        h));
  };
  check("GET", "/fhir/Patient/{id}/$export", kickoff(""), 400);
  Reply started =
      check("GET", "/fhir/Patient/{id}/$export", kickoff("respond-async"), 202);
  std::string status_path = started.Header("Content-Location");
  status_path = status_path.substr(status_path.find("/fhir/"));
  Reply manifest;
  for (int i = 0; i < 500; ++i) {
    manifest = Get(status_path, citizen);
    if (manifest.status != 202) break;
    check("GET", "/fhir/bulk-status/{id}", manifest, 202);
    usleep(20000);
  }
  check("GET", "/fhir/bulk-status/{id}", manifest, 200);
  std::string file_path = manifest.Json()["output"][0].value("url", "");
  file_path = file_path.substr(file_path.find("/fhir/"));
  check("GET", "/fhir/bulk-files/{id}/{file}", Get(file_path, citizen), 200);
  check("GET", "/fhir/bulk-files/{id}/{file}", Get(file_path + ".gz", citizen),
        404);
  check("DELETE", "/fhir/bulk-status/{id}", Delete(status_path, citizen), 202);
  check("DELETE", "/fhir/bulk-status/{id}", Delete(status_path, citizen), 404);
  check("GET", "/fhir/bulk-status/{id}", Get(status_path, citizen), 404);

  // SMART App Launch: an app asks, the citizen answers, the app exchanges
  // its code and reads; then the citizen disconnects it.
  check("GET", "/fhir/.well-known/smart-configuration",
        Get("/fhir/.well-known/smart-configuration"), 200);
  auto smart_app = api::RegisterApp(*vault_, crypto::Random::System(), "Diary",
                                    {"https://diary.example/cb"}, 0);
  ASSERT_TRUE(smart_app.ok());
  const std::string verifier(43, 'v');
  const std::string challenge = PkceChallenge(verifier);
  const std::string fhir_base =
      "http%3A%2F%2F127.0.0.1%3A" + std::to_string(server_->port()) + "%2Ffhir";
  const std::string authorize =
      "/fhir/authorize?response_type=code&client_id=" + smart_app->client_id +
      "&redirect_uri=https%3A%2F%2Fdiary.example%2Fcb&scope=patient%2F"
      "Observation.rs"
      "&state=s&aud=" +
      fhir_base + "&code_challenge=" + challenge +
      "&code_challenge_method=S256";
  Reply asked_app = check("GET", "/fhir/authorize", Get(authorize), 302);
  check("GET", "/fhir/authorize",
        Get("/fhir/authorize?client_id=app_1&redirect_uri=x"), 400);
  const std::string location = asked_app.Header("Location");
  const std::string request_id = location.substr(location.rfind('/') + 1);
  check("GET", "/v1/me/app-requests/{id}",
        Get("/v1/me/app-requests/" + request_id, citizen), 200);
  check("GET", "/v1/me/app-requests/{id}",
        Get("/v1/me/app-requests/ar_none", citizen), 404);
  check("POST", "/v1/me/app-requests/{id}",
        Post("/v1/me/app-requests/" + request_id, R"({"approve":1})", citizen),
        400);
  Reply answered =
      check("POST", "/v1/me/app-requests/{id}",
            Post("/v1/me/app-requests/" + request_id,
                 R"({"approve":true,"categories":["lab-results"]})", citizen),
            200);
  const std::string redirect = answered.Json().value("redirect", "");
  const std::string app_code = redirect.substr(redirect.find("code=") + 5, 64);
  const std::string form = "grant_type=authorization_code&code=" + app_code +
                           "&redirect_uri=https%3A%2F%2Fdiary.example%2Fcb"
                           "&client_id=" +
                           smart_app->client_id + "&code_verifier=" + verifier;
  Reply app_token = check(
      "POST", "/fhir/token",
      Post("/fhir/token", form, "", "application/x-www-form-urlencoded"), 200);
  check("POST", "/fhir/token",
        Post("/fhir/token", form, "", "application/x-www-form-urlencoded"),
        400);
  const std::string app_access = app_token.Json().value("access_token", "");
  check("GET", "/fhir/{type}", Get("/fhir/Observation?_count=2", app_access),
        200);
  check("GET", "/fhir/{type}", Get("/fhir/Condition", app_access), 403);
  Reply apps = check("GET", "/v1/me/apps", Get("/v1/me/apps", citizen), 200);
  const std::string aa = apps.Json()["apps"][0].value("id", "");
  check("DELETE", "/v1/me/apps/{id}", Delete("/v1/me/apps/" + aa, citizen),
        200);
  check("DELETE", "/v1/me/apps/{id}", Delete("/v1/me/apps/" + aa, citizen),
        409);
  check("DELETE", "/v1/me/apps/{id}", Delete("/v1/me/apps/aa_none", citizen),
        404);
  check("GET", "/fhir/{type}", Get("/fhir/Observation", app_access), 401);

  // Rectification of the record the provider pushed: it goes to them.
  Reply asked =
      check("POST", "/v1/me/records/{type}/{id}/rectification-requests",
            Post("/v1/me/records/Observation/bp-1/rectification-requests",
                 R"({"reason":"that was not my blood pressure"})", citizen),
            201);
  check("POST", "/v1/me/records/{type}/{id}/rectification-requests",
        Post("/v1/me/records/Observation/bp-1/rectification-requests",
             R"({"reason":"again"})", citizen),
        409);
  check("GET", "/v1/rectification-requests",
        Get("/v1/rectification-requests", ptoken), 200);
  check("POST", "/v1/rectification-requests/{id}/decision",
        Post("/v1/rectification-requests/" + asked.Json().value("id", "") +
                 "/decision",
             R"({"decision":"accept","resource":{"resourceType":)"
             R"("Observation","status":"entered-in-error",)"
             R"("code":{"text":"blood pressure"}}})",
             ptoken),
        200);
  check("POST", "/v1/rectification-requests/{id}/decision",
        Post("/v1/rectification-requests/" + asked.Json().value("id", "") +
                 "/decision",
             R"({"decision":"decline","reason":"decided already"})", ptoken),
        404);
  check("GET", "/v1/rectification-requests",
        Get("/v1/rectification-requests", citizen), 200);

  // Researcher.
  Reply study = check(
      "POST", "/v1/studies",
      Post(
          "/v1/studies",
          R"({"title":"HbA1c over time","purpose":"DUO:0000006",)"
          R"("categories":["lab-results"],"data_period":{"start":"2015-01-01",)"
          R"("end":null},"criteria":{},"ethics_approval":"EPN 2024-01",)"
          R"("obligations":["DUO:0000019"]})",
          rtoken),
      201);
  const std::string sid = study.Json().value("id", "");
  check("GET", "/v1/studies", Get("/v1/studies", rtoken), 200);
  check("GET", "/v1/studies/{id}", Get("/v1/studies/" + sid, rtoken), 200);
  check("GET", "/v1/studies/{id}",
        Get("/v1/studies/s_00000000000000000000000000000000", rtoken), 404);
  check("GET", "/v1/studies/{id}/feasibility",
        Get("/v1/studies/" + sid + "/feasibility", rtoken), 200);
  Reply release =
      check("POST", "/v1/studies/{id}/releases",
            Post("/v1/studies/" + sid + "/releases", "", rtoken), 201);
  EXPECT_EQ(release.Json().value("cohort_size", -1), 1) << release.body;
  check("POST", "/v1/studies/{id}/releases",
        Post("/v1/studies/" + sid + "/releases", R"({"all":true})", rtoken),
        400);
  check("GET", "/v1/studies/{id}/releases",
        Get("/v1/studies/" + sid + "/releases", rtoken), 200);
  check(
      "GET", "/v1/studies/{id}/releases/{rid}",
      Get("/v1/studies/" + sid + "/releases/" + release.Json().value("id", ""),
          rtoken),
      200);
  check("GET", "/v1/studies/{id}/releases/{rid}",
        Get("/v1/studies/" + sid +
                "/releases/rel_00000000000000000000000000000000",
            rtoken),
        404);
  const std::string rid = release.Json().value("id", "");
  check("GET", "/v1/studies/{id}/releases/{rid}/status",
        Get("/v1/studies/" + sid + "/releases/" + rid + "/status", rtoken),
        200);
  check("GET", "/v1/studies/{id}/releases/{rid}/status",
        Get("/v1/studies/" + sid +
                "/releases/rel_00000000000000000000000000000000/status",
            rtoken),
        404);
  {
    httplib::Headers async = {{"Authorization", "Bearer " + rtoken},
                              {"Prefer", "respond-async"}};
    Reply started =
        check("POST", "/v1/studies/{id}/releases",
              From(Client()->Post(("/v1/studies/" + sid + "/releases").c_str(),
                                  async, "", "application/json")),
              202);
    const std::string status = "/v1/studies/" + sid + "/releases/" +
                               started.Json().value("id", "") + "/status";
    Reply polled = Get(status, rtoken);
    for (int i = 0; i < 1000 && polled.status == 202; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      polled = Get(status, rtoken);
    }
    check("GET", "/v1/studies/{id}/releases/{rid}/status", polled, 200);
  }

  // Aggregates: refused until the operator sets the study's budget.
  const std::string aggregates = "/v1/studies/" + sid + "/aggregates";
  check("POST", "/v1/studies/{id}/aggregates",
        Post(aggregates, R"({"query":"count","epsilon":0.5})", rtoken), 403);
  const std::string budget = "/v1/admin/studies/" + sid + "/privacy-budget";
  check("PUT", "/v1/admin/studies/{id}/privacy-budget",
        Put(budget, R"({"epsilon":2})", admin_), 200);
  check("PUT", "/v1/admin/studies/{id}/privacy-budget",
        Put(budget, R"({"epsilon":"2"})", admin_), 400);
  check("PUT", "/v1/admin/studies/{id}/privacy-budget",
        Put("/v1/admin/studies/s_00000000000000000000000000000000"
            "/privacy-budget",
            R"({"epsilon":2})", admin_),
        404);
  check("POST", "/v1/studies/{id}/aggregates",
        Post(aggregates, R"({"query":"age_sex","epsilon":0.5})", rtoken), 200);
  check("POST", "/v1/studies/{id}/aggregates",
        Post(aggregates, R"({"query":"count","epsilon":50})", rtoken), 400);
  check("PUT", "/v1/admin/studies/{id}/privacy-budget",
        Put(budget, R"({"epsilon":0.1})", admin_), 409);  // 0.5 is spent
  check("GET", "/v1/me/privacy-budget", Get("/v1/me/privacy-budget", citizen),
        200);

  // Auditor (and the citizen, for checkpoints and proofs).
  check("GET", "/v1/audit/entries", Get("/v1/audit/entries?limit=5", atoken),
        200);
  check("GET", "/v1/audit/entries",
        Get("/v1/audit/entries?citizen=" + cid + "&actor=" + pid, atoken), 200);
  check("GET", "/v1/audit/checkpoint", Get("/v1/audit/checkpoint", atoken),
        200);
  check("GET", "/v1/audit/checkpoint", Get("/v1/audit/checkpoint", citizen),
        200);
  check("GET", "/v1/audit/proofs/inclusion",
        Get("/v1/audit/proofs/inclusion?index=0&size=3", citizen), 200);
  check("GET", "/v1/audit/proofs/consistency",
        Get("/v1/audit/proofs/consistency?from=2&to=5", atoken), 200);
  check("GET", "/v1/audit/proofs/consistency",
        Get("/v1/audit/proofs/consistency?from=5&to=2", atoken), 400);
  check("GET", "/v1/me/access-log",
        Get("/v1/me/access-log?limit=3&proofs=true", citizen), 200);
  check("GET", "/v1/me/devices", Get("/v1/me/devices", citizen), 200);
  check("POST", "/v1/me/devices/pairing-codes",
        Post("/v1/me/devices/pairing-codes", "", citizen), 201);
  check("POST", "/v1/me/devices/pairing-codes",
        Post("/v1/me/devices/pairing-codes", "[1]", citizen), 400);
  check("DELETE", "/v1/me/devices/{id}",
        Delete("/v1/me/devices/d_" + std::string(32, '0'), citizen), 404);

  // Proxies and guardians: a second citizen acts for the first.
  Reply made = Post("/v1/admin/citizens", "", admin_);
  ASSERT_EQ(made.status, 201) << made.body;
  const std::string carer_id = made.Json().value("citizen_id", "");
  Reply carer_enrolled =
      Post("/v1/enroll",
           json{{"enrollment_code", made.Json().value("enrollment_code", "")}}
               .dump());
  ASSERT_EQ(carer_enrolled.status, 200) << carer_enrolled.body;
  const std::string carer = carer_enrolled.Json().value("token", "");
  Reply proxy =
      check("POST", "/v1/me/proxies",
            Post("/v1/me/proxies",
                 json{{"proxy", carer_id}, {"access", "read"}}.dump(), citizen),
            201);
  check("POST", "/v1/me/proxies",
        Post("/v1/me/proxies", json{{"proxy", carer_id}}.dump(), citizen), 400);
  const std::string proxy_path =
      "/v1/me/proxies/" + proxy.Json().value("id", "");
  check("PUT", "/v1/me/proxies/{id}",
        Put(proxy_path,
            json{{"access", "read"}, {"categories", {"vital-signs"}}}.dump(),
            citizen),
        200);
  check("GET", "/v1/me/proxies", Get("/v1/me/proxies", citizen), 200);
  check("GET", "/v1/me/represented", Get("/v1/me/represented", carer), 200);
  const std::string base = "/v1/citizens/" + cid;
  check("POST", "/v1/citizens/{citizen_id}/records",
        Post(base + "/records", R"({"resourceType":"Observation"})", carer),
        403);
  check("DELETE", "/v1/me/proxies/{id}", Delete(proxy_path, citizen), 200);
  check("DELETE", "/v1/me/proxies/{id}", Delete(proxy_path, citizen), 409);
  check("GET", "/v1/citizens/{citizen_id}/records",
        Get(base + "/records", carer), 404);
  Reply guardianship = check("POST", "/v1/admin/guardianships",
                             Post("/v1/admin/guardianships",
                                  json{{"guardian", carer_id},
                                       {"citizen", cid},
                                       {"start", "2020-01-01"}}
                                      .dump(),
                                  admin_),
                             201);
  check("POST", "/v1/admin/guardianships",
        Post("/v1/admin/guardianships", "{}", admin_), 400);
  // As the guardian, every route a proxy uses.
  check("GET", "/v1/citizens/{citizen_id}", Get(base, carer), 200);
  check("POST", "/v1/citizens/{citizen_id}/import",
        Post(base + "/import", SyntheticBundle(0), carer,
             "application/fhir+json"),
        200);
  check("GET", "/v1/citizens/{citizen_id}/records",
        Get(base + "/records?limit=2", carer), 200);
  Reply noted = check("POST", "/v1/citizens/{citizen_id}/records",
                      Post(base + "/records",
                           R"({"resourceType":"Observation","status":"final",)"
                           R"("code":{"text":"mood"},"valueString":"tired"})",
                           carer),
                      201);
  const std::string noted_path =
      base + "/records/Observation/" + noted.Json().value("id", "");
  check("GET", "/v1/citizens/{citizen_id}/records/{type}/{id}",
        Get(noted_path, carer), 200);
  check("PUT", "/v1/citizens/{citizen_id}/records/{type}/{id}",
        Put(noted_path,
            R"({"resourceType":"Observation","status":"final",)"
            R"("code":{"text":"mood"},"valueString":"rested"})",
            carer),
        200);
  check("GET", "/v1/citizens/{citizen_id}/records/{type}/{id}/history",
        Get(noted_path + "/history", carer), 200);
  check("POST",
        "/v1/citizens/{citizen_id}/records/{type}/{id}/rectification-requests",
        Post(noted_path + "/rectification-requests", "{}", carer), 400);
  check("GET", "/v1/citizens/{citizen_id}/export", Get(base + "/export", carer),
        200);
  check("GET", "/v1/citizens/{citizen_id}/consents",
        Get(base + "/consents", carer), 200);
  check("POST", "/v1/citizens/{citizen_id}/consents/preview",
        Post(base + "/consents/preview", research_grant.dump(), carer), 200);
  Reply guardian_grant =
      check("POST", "/v1/citizens/{citizen_id}/consents",
            Post(base + "/consents", research_grant.dump(), carer), 201);
  check("DELETE", "/v1/citizens/{citizen_id}/consents/{id}",
        Delete(base + "/consents/" + guardian_grant.Json().value("id", ""),
               carer),
        200);
  check("GET", "/v1/citizens/{citizen_id}/restrictions",
        Get(base + "/restrictions", carer), 200);
  check("PUT", "/v1/citizens/{citizen_id}/restrictions",
        Put(base + "/restrictions", R"({"categories":["financial"]})", carer),
        200);
  check("GET", "/v1/citizens/{citizen_id}/research-opt-out",
        Get(base + "/research-opt-out", carer), 200);
  check("PUT", "/v1/citizens/{citizen_id}/research-opt-out",
        Put(base + "/research-opt-out", R"({"opted_out":false})", carer), 200);
  check("GET", "/v1/citizens/{citizen_id}/primary-use-opt-out",
        Get(base + "/primary-use-opt-out", carer), 200);
  check("PUT", "/v1/citizens/{citizen_id}/primary-use-opt-out",
        Put(base + "/primary-use-opt-out", R"({"opted_out":false})", carer),
        200);
  check("GET", "/v1/citizens/{citizen_id}/privacy-budget",
        Get(base + "/privacy-budget", carer), 200);
  check("GET", "/v1/citizens/{citizen_id}/access-log",
        Get(base + "/access-log?limit=3", carer), 200);
  check("DELETE", "/v1/admin/guardianships/{id}",
        Delete("/v1/admin/guardianships/" + guardianship.Json().value("id", ""),
               admin_),
        200);
  check("DELETE", "/v1/admin/guardianships/{id}",
        Delete("/v1/admin/guardianships/" + guardianship.Json().value("id", ""),
               admin_),
        404);

  // Revocation and erasure last.
  const std::string gid = granted.Json().value("id", "");
  check("DELETE", "/v1/me/consents/{id}",
        Delete("/v1/me/consents/" + gid, citizen), 200);
  check("DELETE", "/v1/me/consents/{id}",
        Delete("/v1/me/consents/" + gid, citizen), 409);
  check("DELETE", "/v1/me",
        Delete("/v1/me", citizen, json{{"confirm", "c_nope"}}.dump()), 400);
  check("DELETE", "/v1/me",
        Delete("/v1/me", citizen, json{{"confirm", cid}}.dump()), 200);

  std::set<std::string> missed;
  for (const api::RouteInfo& r : api::ListRoutes()) {
    if (called.count(r.method + " " + r.path) == 0)
      missed.insert(r.method + " " + r.path);
  }
  EXPECT_TRUE(missed.empty())
      << "routes this test does not call: " << Join(missed);
}

// ------------------------------------------------------------------ metrics

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the Prometheus text format (sample lines; comments skipped).
std::vector<Sample> ParseMetrics(const std::string& text) {
  std::vector<Sample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Sample s;
    size_t i = line.find_first_of("{ ");
    s.name = line.substr(0, i);
    if (i != std::string::npos && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        const size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() ||
            line[eq + 1] != '"') {
          ADD_FAILURE() << "malformed labels: " << line;
          return out;
        }
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) ++j;
          value += line[j];
        }
        s.labels[line.substr(i, eq - i)] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      ++i;
    }
    const std::string rest = i < line.size() ? line.substr(i) : "";
    s.value = std::stod(rest);
    out.push_back(std::move(s));
  }
  return out;
}

// The samples named `name` whose labels include `labels`.
std::vector<Sample> Find(const std::vector<Sample>& all,
                         const std::string& name,
                         const std::map<std::string, std::string>& labels) {
  std::vector<Sample> out;
  for (const Sample& s : all) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) out.push_back(s);
  }
  return out;
}

class MetricsTest : public HttpTest {
 protected:
  // GET /metrics once `route` has `n` requests counted. A request is
  // counted after its response is sent, so the client can see the answer
  // a moment before the server has counted it.
  Reply MetricsAfter(const std::string& method, const std::string& route,
                     double n) {
    Reply m;
    for (int i = 0; i < 200; ++i) {
      m = Get("/metrics");
      auto count = Find(ParseMetrics(m.body),
                        "tillit_http_request_duration_seconds_count",
                        {{"method", method}, {"route", route}});
      if (!count.empty() && count[0].value >= n) break;
      usleep(10 * 1000);
    }
    return m;
  }
};

TEST_F(MetricsTest, CountsRequestsByRouteAndStatusWithoutIdsOrTokens) {
  ASSERT_EQ(Get("/healthz").status, 200);
  ASSERT_EQ(Get("/healthz").status, 200);
  ASSERT_EQ(Get("/v1/nope").status, 404);
  Reply created = Post("/v1/admin/citizens", "{}", admin_);
  ASSERT_EQ(created.status, 201);
  const std::string citizen = created.Json()["citizen_id"];
  const std::string code = created.Json()["enrollment_code"];
  Reply enrolled = Post("/v1/enroll", json{{"enrollment_code", code}}.dump());
  ASSERT_EQ(enrolled.status, 200);
  const std::string token = enrolled.Json()["token"];

  Reply m = MetricsAfter("POST", "/v1/enroll", 1);
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.Header("Content-Type").rfind("text/plain", 0), 0u)
      << m.Header("Content-Type");
  const std::vector<Sample> all = ParseMetrics(m.body);

  auto healthz =
      Find(all, "tillit_http_requests_total",
           {{"method", "GET"}, {"route", "/healthz"}, {"status", "200"}});
  ASSERT_EQ(healthz.size(), 1u) << m.body;
  EXPECT_GE(healthz[0].value, 2);
  auto unmatched = Find(all, "tillit_http_requests_total",
                        {{"route", "unmatched"}, {"status", "404"}});
  ASSERT_EQ(unmatched.size(), 1u) << m.body;
  EXPECT_GE(unmatched[0].value, 1);
  auto admin = Find(
      all, "tillit_http_requests_total",
      {{"method", "POST"}, {"route", "/v1/admin/citizens"}, {"status", "201"}});
  ASSERT_EQ(admin.size(), 1u) << m.body;
  EXPECT_EQ(admin[0].value, 1);

  auto inf = Find(all, "tillit_http_request_duration_seconds_bucket",
                  {{"method", "GET"}, {"route", "/healthz"}, {"le", "+Inf"}});
  ASSERT_EQ(inf.size(), 1u) << m.body;
  EXPECT_GE(inf[0].value, 2);
  auto count = Find(all, "tillit_http_request_duration_seconds_count",
                    {{"method", "GET"}, {"route", "/healthz"}});
  ASSERT_EQ(count.size(), 1u) << m.body;
  EXPECT_GE(count[0].value, 2);

  auto appends = Find(all, "tillit_audit_appends_total", {});
  ASSERT_EQ(appends.size(), 1u) << m.body;
  EXPECT_GE(appends[0].value, 1);
  auto entries = Find(all, "tillit_audit_log_entries", {});
  ASSERT_EQ(entries.size(), 1u) << m.body;
  EXPECT_GE(entries[0].value, appends[0].value);
  EXPECT_EQ(Find(all, "tillit_open_vaults", {}).size(), 1u) << m.body;
  EXPECT_NE(m.body.find("# TYPE tillit_http_requests_total counter"),
            std::string::npos);
  EXPECT_NE(
      m.body.find("# TYPE tillit_http_request_duration_seconds histogram"),
      std::string::npos);

  for (const std::string& secret : {admin_, token, code, citizen}) {
    EXPECT_EQ(m.body.find(secret), std::string::npos)
        << "the metrics text contains " << secret;
  }
}

TEST_F(MetricsTest, HistogramBucketsAreCumulativeAndEndAtTheCount) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(Get("/healthz").status, 200);
  Reply m = MetricsAfter("GET", "/healthz", 5);
  ASSERT_EQ(m.status, 200);
  const std::vector<Sample> all = ParseMetrics(m.body);
  auto buckets = Find(all, "tillit_http_request_duration_seconds_bucket",
                      {{"method", "GET"}, {"route", "/healthz"}});
  ASSERT_GE(buckets.size(), 2u) << m.body;
  EXPECT_EQ(buckets.back().labels["le"], "+Inf");
  double previous_le = -1, previous = 0;
  for (const Sample& b : buckets) {
    const std::string le = b.labels.at("le");
    const double bound = le == "+Inf" ? 1e300 : std::stod(le);
    EXPECT_GT(bound, previous_le) << "bucket bounds out of order at " << le;
    EXPECT_GE(b.value, previous) << "bucket " << le << " is not cumulative";
    previous_le = bound;
    previous = b.value;
  }
  auto count = Find(all, "tillit_http_request_duration_seconds_count",
                    {{"method", "GET"}, {"route", "/healthz"}});
  ASSERT_EQ(count.size(), 1u);
  EXPECT_EQ(count[0].value, 5);
  EXPECT_EQ(buckets.back().value, count[0].value);
  EXPECT_EQ(Find(all, "tillit_http_request_duration_seconds_sum",
                 {{"method", "GET"}, {"route", "/healthz"}})
                .size(),
            1u);
}

}  // namespace
}  // namespace tillit::testing
