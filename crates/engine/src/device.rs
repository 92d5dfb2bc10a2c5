//! Device and dtype selection.

use crate::error::{EngineError, Result};
use std::fmt;
use std::str::FromStr;

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceSpec {
    Cpu,
    Cuda(usize),
    /// CUDA device 0 when available, else the CPU.
    #[default]
    Best,
}

impl FromStr for DeviceSpec {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        let l = s.trim().to_ascii_lowercase();
        match l.as_str() {
            "cpu" => Ok(DeviceSpec::Cpu),
            "cuda" | "gpu" => Ok(DeviceSpec::Cuda(0)),
            "best" | "auto" => Ok(DeviceSpec::Best),
            _ => {
                if let Some(n) = l.strip_prefix("cuda:") {
                    n.parse::<usize>().map(DeviceSpec::Cuda).map_err(|_| {
                        EngineError::Device(format!(
                            "'{s}' is not a device: use cpu, cuda, cuda:N or best."
                        ))
                    })
                } else {
                    Err(EngineError::Device(format!(
                        "'{s}' is not a device: use cpu, cuda, cuda:N or best."
                    )))
                }
            }
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Cpu => write!(f, "cpu"),
            DeviceSpec::Cuda(i) => write!(f, "cuda:{i}"),
            DeviceSpec::Best => write!(f, "best"),
        }
    }
}

impl DeviceSpec {
    /// The concrete tch device; errors if CUDA is requested but unavailable.
    pub(crate) fn resolve(&self) -> Result<tch::Device> {
        match *self {
            DeviceSpec::Cpu => Ok(tch::Device::Cpu),
            DeviceSpec::Best => {
                if tch::Cuda::is_available() {
                    Ok(tch::Device::Cuda(0))
                } else {
                    Ok(tch::Device::Cpu)
                }
            }
            DeviceSpec::Cuda(i) => {
                if !tch::Cuda::is_available() {
                    return Err(EngineError::Device(
                        "CUDA was requested but no CUDA device is available; use --device cpu."
                            .into(),
                    ));
                }
                let n = tch::Cuda::device_count() as usize;
                if i >= n {
                    return Err(EngineError::Device(format!(
                        "CUDA device {i} was requested but only {n} device(s) exist."
                    )));
                }
                Ok(tch::Device::Cuda(i))
            }
        }
    }
}

/// Human name of a tch device ("cpu", "cuda:0").
pub(crate) fn device_name(d: tch::Device) -> String {
    match d {
        tch::Device::Cpu => "cpu".into(),
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Floating-point type of the weights and activations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DTypeSpec {
    #[default]
    F32,
    F16,
    BF16,
}

impl FromStr for DTypeSpec {
    type Err = EngineError;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "float32" | "float" | "fp32" => Ok(DTypeSpec::F32),
            "f16" | "float16" | "half" | "fp16" => Ok(DTypeSpec::F16),
            "bf16" | "bfloat16" => Ok(DTypeSpec::BF16),
            _ => Err(EngineError::Unsupported(format!(
                "'{s}' is not a dtype: use f32, f16 or bf16."
            ))),
        }
    }
}

impl fmt::Display for DTypeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DTypeSpec::F32 => "f32",
            DTypeSpec::F16 => "f16",
            DTypeSpec::BF16 => "bf16",
        })
    }
}

impl DTypeSpec {
    pub(crate) fn kind(&self) -> tch::Kind {
        match self {
            DTypeSpec::F32 => tch::Kind::Float,
            DTypeSpec::F16 => tch::Kind::Half,
            DTypeSpec::BF16 => tch::Kind::BFloat16,
        }
    }
}

/// Whether a CUDA device can be used here.
pub fn cuda_available() -> bool {
    tch::Cuda::is_available()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parse_devices() {
        assert_eq!("cpu".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cpu);
        assert_eq!("cuda".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(0));
        assert_eq!("cuda:1".parse::<DeviceSpec>().unwrap(), DeviceSpec::Cuda(1));
        assert_eq!("auto".parse::<DeviceSpec>().unwrap(), DeviceSpec::Best);
        assert!("tpu".parse::<DeviceSpec>().is_err());
        assert!("cuda:x".parse::<DeviceSpec>().is_err());
        assert_eq!("bf16".parse::<DTypeSpec>().unwrap(), DTypeSpec::BF16);
        assert!("int8".parse::<DTypeSpec>().is_err());
    }
}
