// Gemma 3's language model, transformers' modeling_gemma3.py in its v5 layout
// (Gemma3ForCausalLM over Gemma3TextModel, built from the text_config of
// Gemma3ForConditionalGeneration; the vision tower is not built): Gemma 2's four norms a
// layer and (1 + w) RMSNorms, plus q_norm and k_norm; the embedding module scales by
// sqrt(hidden_size) itself (Gemma3TextScaledWordEmbedding); five sliding-window layers
// to one global (sliding_window_pattern), the global ones rotating with rope_theta and
// its scaling, the sliding ones with rope_local_base_freq; no attention soft-capping.
#include "models/decoder.h"

namespace irene::models {

std::shared_ptr<CausalLM> make_gemma3(const ModelConfig& config, const Init& init) {
  DecoderSpec spec{.prefix = "Gemma3", .qk_norm = true, .gemma = true, .v5 = true};
  spec.model_cls = "Gemma3TextModel";
  spec.scaled_embedding_cls = "Gemma3TextScaledWordEmbedding";
  return make_decoder(config, init, spec);
}

}  // namespace irene::models
