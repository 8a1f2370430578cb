# Writes OUT, a C++ source defining tillit::api::OpenApiDocument() as the
# bytes of IN (cmake -DIN=... -DOUT=... -P embed.cmake).
file(READ ${IN} content)
string(FIND "${content}" ")tillit_openapi\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter")
endif()
file(WRITE ${OUT} "// Generated from openapi.json; do not edit.\n"
  "#include \"tillit/api/routes.h\"\n"
  "namespace tillit::api {\n"
  "std::string_view OpenApiDocument() {\n"
  "  static constexpr char kDoc[] = R\"tillit_openapi(${content})tillit_openapi\";\n"
  "  return {kDoc, sizeof(kDoc) - 1};\n"
  "}\n"
  "}  // namespace tillit::api\n")
