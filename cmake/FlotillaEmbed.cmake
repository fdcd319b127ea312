# flotilla_embed_assets(TARGET NAMESPACE ns HEADER header.h ASSETS kName file ...): adds to
# TARGET one generated source per asset that defines `extern const std::string_view ns::kName`
# with the file's bytes, so the binary needs no file at run time. HEADER (included by the
# generated sources) declares the names. Editing an asset regenerates its source at build time.
set(FLOTILLA_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_asset.cmake)

function(flotilla_embed_assets target)
  cmake_parse_arguments(E "" "NAMESPACE;HEADER" "ASSETS" ${ARGN})
  list(LENGTH E_ASSETS count)
  math(EXPR odd "${count} % 2")
  if(count EQUAL 0 OR odd)
    message(FATAL_ERROR "flotilla_embed_assets: ASSETS takes pairs of a name and a file")
  endif()
  math(EXPR last "${count} - 1")
  foreach(i RANGE 0 ${last} 2)
    math(EXPR j "${i} + 1")
    list(GET E_ASSETS ${i} name)
    list(GET E_ASSETS ${j} file)
    get_filename_component(input ${file} ABSOLUTE)
    get_filename_component(base ${file} NAME)
    set(output ${CMAKE_CURRENT_BINARY_DIR}/embedded/${base}.cpp)
    add_custom_command(
      OUTPUT ${output}
      COMMAND ${CMAKE_COMMAND} -DINPUT=${input} -DOUTPUT=${output} -DNAME=${name}
              -DNAMESPACE=${E_NAMESPACE} -DHEADER=${E_HEADER} -P ${FLOTILLA_EMBED_SCRIPT}
      DEPENDS ${input} ${FLOTILLA_EMBED_SCRIPT}
      COMMENT "Embedding ${file}"
      VERBATIM)
    target_sources(${target} PRIVATE ${output})
  endforeach()
endfunction()
