// A deterministic generator of synthetic citizens, for the demo and the scale
// benchmarks. It needs no files: names, places and codes come from small
// built-in tables, and randomness from a PRNG seeded by (seed, index).
//
// Thread-safety: GenerateSyntheticBundle may be called from several threads
// at once.
#ifndef TILLIT_FHIR_SYNTHETIC_H_
#define TILLIT_FHIR_SYNTHETIC_H_

#include <cstdint>
#include <string>

namespace tillit::fhir {

struct SyntheticOptions {
  // Number of encounters per citizen, drawn from [min, max]. Negative values
  // count as 0; max below min counts as min.
  int min_encounters = 3;
  int max_encounters = 12;
  // When true some citizens get a sensitive condition (depressive disorder,
  // SNOMED CT 35489007).
  bool include_sensitive = true;
};

// A FHIR R4 transaction Bundle (urn:uuid: fullUrls and references,
// Synthea-like) for citizen number `index` of the population seeded by
// `seed`: one Patient; Encounters with vital-sign Observations (blood
// pressure panel 85354-9 with systolic 8480-6 and diastolic 8462-4
// components, heart rate, weight, height, BMI); laboratory Observations
// (HbA1c, cholesterol, glucose); Conditions; MedicationRequests;
// Immunizations. Minified JSON.
// Same (seed, index, options) -> byte-identical output, on every platform.
std::string GenerateSyntheticBundle(uint64_t seed, uint64_t index,
                                    const SyntheticOptions& options = {});

}  // namespace tillit::fhir

#endif  // TILLIT_FHIR_SYNTHETIC_H_
