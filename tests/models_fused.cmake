# Checks that the fusion passes fire on a real PyTorch export: runs
#   norma info --optimized MODEL
# and fails unless the optimized graph holds exactly LN LayerNormalization nodes and GELU Gelu
# nodes (one per MLP), and none of the ops the decomposed LayerNorm and GELU are made of.
#
#   cmake -DNORMA=path/to/norma -DMODEL=model.onnx -DLN=5 -DGELU=2 -P models_fused.cmake
foreach(v NORMA MODEL LN GELU)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "models_fused.cmake: -D${v}=... is required")
  endif()
endforeach()
execute_process(COMMAND ${NORMA} info --optimized ${MODEL}
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "norma info --optimized ${MODEL} failed (${rc}):\n${err}")
endif()
set(failed "")
foreach(op ReduceMean Pow Sqrt Erf Tanh)
  if(out MATCHES "\n  ${op} +[0-9]+")
    string(APPEND failed " ${op} left in the optimized graph;")
  endif()
endforeach()
foreach(pair "LayerNormalization=${LN}" "Gelu=${GELU}")
  string(REPLACE "=" ";" pair "${pair}")
  list(GET pair 0 op)
  list(GET pair 1 want)
  set(got 0)
  if(out MATCHES "\n  ${op} +([0-9]+)")
    set(got ${CMAKE_MATCH_1})
  endif()
  if(NOT got EQUAL want)
    string(APPEND failed " ${got} ${op} nodes, expected ${want};")
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "${MODEL}:${failed}\n${out}")
endif()
message(STATUS "${MODEL}: ${LN} LayerNormalization, ${GELU} Gelu, nothing decomposed left")
