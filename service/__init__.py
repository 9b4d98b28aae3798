"""evi-toolhost web tier and the EVI protocol code shared by both tiers."""
