// The parts of a decoder's config.json that have files of their own, each called by
// parse_decoder_config (decoder_config.cc) once the family's core fields are read.
// Internal to the models component; no libtorch here.
#pragma once

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "models/config.h"

namespace irene::models {

// rope_theta (`theta_key`) / rope_scaling / rope_parameters / partial_rotary_factor
// (rope_config.cc). Needs max_positions.
Status parse_rope(const nlohmann::json& doc, ModelConfig& c, double default_theta, const char* theta_key);
// Each layer's mixer and attention kind (layer_types_config.cc). Sets num_layers for
// Nemotron-H, whose pattern names the layers.
Status parse_layer_types(const nlohmann::json& doc, ModelConfig& c, int64_t default_window);
// The experts and which layers route (experts_config.cc). Needs the layer pattern.
Status parse_experts(const nlohmann::json& doc, ModelConfig& c);
// Latent attention, Mamba-2 and gated DeltaNet keys (mixer_config.cc). Needs the pattern.
Status parse_mixers(const nlohmann::json& doc, ModelConfig& c);
// quantization_config (quantization.cc).
Status parse_quantization(const nlohmann::json& doc, ModelConfig& c);

}  // namespace irene::models
