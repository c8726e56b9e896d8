// The interface every architecture of the zoo implements, and their factories.
// Internal; includes libtorch.
#pragma once

#include <memory>

#include "models/config.h"
#include "models/hf_module.h"

namespace irene::models {

// A Hugging Face base model (BertModel, GPT2Model, ...): input ids in, hidden states out.
class TransformerModel : public HfModule {
 public:
  explicit TransformerModel(const std::string& hf_class) : HfModule(hf_class, tree::NodeKind::kModel) {}
  virtual at::Tensor forward(const at::Tensor& input_ids) = 0;
};

std::shared_ptr<TransformerModel> make_bert(const ModelConfig& config, const Init& init);  // also RoBERTa
std::shared_ptr<TransformerModel> make_distilbert(const ModelConfig& config, const Init& init);
std::shared_ptr<TransformerModel> make_gpt2(const ModelConfig& config, const Init& init);
std::shared_ptr<TransformerModel> make_openai_gpt(const ModelConfig& config, const Init& init);

}  // namespace irene::models
