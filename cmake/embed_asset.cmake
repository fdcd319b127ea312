# Build-time step of flotilla_embed_assets (FlotillaEmbed.cmake): writes OUTPUT, a C++ file that
# defines `extern const std::string_view NAMESPACE::NAME` holding INPUT's bytes as a raw string.
# Arguments: -DINPUT=file -DOUTPUT=file.cpp -DNAME=kName -DNAMESPACE=ns -DHEADER=header.h
file(READ "${INPUT}" content)
set(delimiter "flotilla_asset")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT}: contains )${delimiter}\", which would end the raw string")
endif()
set(text "// Generated from ${INPUT} at build time; edit that file instead.\n")
string(APPEND text "#include \"${HEADER}\"\n\nnamespace ${NAMESPACE} {\n\n")
string(APPEND text "extern const std::string_view ${NAME} = R\"${delimiter}(${content})${delimiter}\";\n\n")
string(APPEND text "}  // namespace ${NAMESPACE}\n")
file(WRITE "${OUTPUT}" "${text}")
