// This machine's name, as local tasks and submissions are labelled with it. Internal to
// src/campaign.
#pragma once

#include <string>

namespace irene::campaign {

std::string host_name();

}  // namespace irene::campaign
