# Checks that the fusion passes fire on a real PyTorch export: runs
#   norma info --optimized MODEL
# and fails unless the optimized graph holds exactly LN LayerNormalization nodes and GELU Gelu
# nodes (one per MLP; a Gelu fused into its MatMul counts, "norma.MatMul+Gelu"), and none of
# the ops the decomposed LayerNorm and GELU are made of.
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
  # the op's own nodes plus nodes it was fused into ("norma.MatMul+Gelu")
  set(got 0)
  string(REGEX MATCHALL "\n  ([A-Za-z.]+\\+)?${op} +[0-9]+" lines "${out}")
  foreach(line ${lines})
    string(REGEX MATCH "[0-9]+$" k "${line}")
    math(EXPR got "${got} + ${k}")
  endforeach()
  if(NOT got EQUAL want)
    string(APPEND failed " ${got} ${op} nodes, expected ${want};")
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "${MODEL}:${failed}\n${out}")
endif()
message(STATUS "${MODEL}: ${LN} LayerNormalization, ${GELU} Gelu, nothing decomposed left")
