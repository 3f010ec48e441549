//! RFC 3161 timestamps in a bundle, read but not trusted: vanguard does not
//! verify a timestamp authority's signature yet, so a timestamp never *gives*
//! a signed time. It can still *contradict* one: a token that is not about
//! this signature, or whose time falls outside the certificate's validity,
//! refuses the bundle (the conformance suite expects that; a bundle stripped
//! of its tokens would be judged on its log time alone).

use super::der::{children, expect, generalized_time, read};

/// What a timestamp token claims.
#[derive(Debug, Clone)]
pub struct TimestampClaim {
    pub time: i64,
    /// The imprint's hash: 256, 384 or 512 (SHA-2), 0 for anything else.
    pub imprint_bits: u16,
    pub imprint: Vec<u8>,
}

/// 2.16.840.1.101.3.4.2 (NIST hash algorithms); .1 SHA-256, .2 SHA-384, .3 SHA-512.
const OID_NIST_HASH: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];

/// Reads a TimeStampResp or a bare TimeStampToken (CMS ContentInfo) down to
/// the TSTInfo's genTime and messageImprint.
pub fn read_token(der: &[u8]) -> Option<TimestampClaim> {
    let (top, _) = expect(der, 0x30)?;
    let items = children(top.content)?;
    // TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken }
    let content_info = match items.as_slice() {
        [status, token] if status.tag == 0x30 && token.tag == 0x30 => *token,
        [oid, _] if oid.tag == 0x06 => top,
        _ => return None,
    };
    let ci = children(content_info.content)?;
    let signed_data = ci.get(1).filter(|t| t.tag == 0xa0)?;
    let (sd, _) = expect(signed_data.content, 0x30)?;
    let sd = children(sd.content)?;
    // version, digestAlgorithms, encapContentInfo
    let encap = sd.get(2).filter(|t| t.tag == 0x30)?;
    let encap = children(encap.content)?;
    let wrapped = encap.get(1).filter(|t| t.tag == 0xa0)?;
    let (octets, _) = expect(wrapped.content, 0x04)?;
    let (tst, _) = expect(octets.content, 0x30)?;
    let tst = children(tst.content)?;
    // version, policy, messageImprint, serialNumber, genTime
    let imprint = tst.get(2).filter(|t| t.tag == 0x30)?;
    let imprint = children(imprint.content)?;
    let alg = imprint.first().filter(|t| t.tag == 0x30)?;
    let (alg_oid, _) = read(alg.content)?;
    let digest = imprint.get(1).filter(|t| t.tag == 0x04)?;
    let gen_time = tst.get(4).filter(|t| t.tag == 0x18)?;
    Some(TimestampClaim {
        time: generalized_time(gen_time.content)?,
        imprint_bits: match alg_oid.content.split_last() {
            Some((last, arc)) if alg_oid.tag == 0x06 && arc == OID_NIST_HASH => match last {
                1 => 256,
                2 => 384,
                3 => 512,
                _ => 0,
            },
            _ => 0,
        },
        imprint: digest.content.to_vec(),
    })
}

impl TimestampClaim {
    /// Whether the token timestamps these signature bytes.
    pub fn covers(&self, signature: &[u8]) -> bool {
        let alg = match self.imprint_bits {
            256 => &ring::digest::SHA256,
            384 => &ring::digest::SHA384,
            512 => &ring::digest::SHA512,
            _ => return false,
        };
        self.imprint == ring::digest::digest(alg, signature).as_ref()
    }
}
