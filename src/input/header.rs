//! Header aliases and header-row detection.
//!
//! A header cell matches a field when its *key* equals the key of one of the field's
//! aliases. The key is NFKC (full-width → ASCII, half-width katakana → full-width),
//! lower-cased, with everything that is not a letter or digit removed, so `Tenant ID`,
//! `tenant_id`, `ＴＥＮＡＮＴ－ＩＤ` and `テナント・ID` all meet. Matching is whole-key
//! equality, never substring: `Subscription` is an offer and `Subscription ID` is not.
//! When two columns match one field, the alias listed first wins (so `Product name`
//! beats `SKU`), then the leftmost column. The header row is the first row whose matches
//! cover the schema's required fields; title blocks above it are skipped.

use std::collections::HashMap;
use std::sync::OnceLock;

/// One field of a table and the header texts that name it.
#[derive(Debug)]
pub(crate) struct FieldSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
}

/// The fields a kind of table has, and which must be present.
#[derive(Debug)]
pub(crate) struct Schema {
    /// What the table is, for messages ("customer export", "catalog").
    pub what: &'static str,
    pub fields: &'static [FieldSpec],
    /// Each group needs at least one of its fields (indices into `fields`).
    pub required: &'static [&'static [usize]],
    /// Headers that name a field only when the row also has another header.
    pub contextual: &'static [Contextual],
    /// Alias key → (field, priority); filled on first use.
    pub index: OnceLock<HashMap<String, (usize, usize)>>,
}

/// `alias` names `field` when the header row also has `beside` (compared as keys).
#[derive(Debug)]
pub(crate) struct Contextual {
    pub alias: &'static str,
    pub field: usize,
    pub beside: &'static str,
}

/// The comparison key of a header text: the crate's one normaliser,
/// [`crate::text::match_key`] (see the module comment).
pub(crate) fn header_key(text: &str) -> String {
    crate::text::match_key(text)
}

/// A header row matched to a schema.
#[derive(Debug, Clone)]
pub(crate) struct HeaderMap {
    /// Per schema field, the column that holds it.
    pub columns: Vec<Option<usize>>,
    /// The header cells as written in the file (trimmed), for messages.
    pub headers: Vec<String>,
    /// (field, column): further columns whose header also names a field, after the
    /// one chosen; their values are compared with the chosen column's (a warning when
    /// they differ).
    pub also: Vec<(usize, usize)>,
}

impl HeaderMap {
    pub fn column(&self, field: usize) -> Option<usize> {
        self.columns[field]
    }

    /// The header text of a column as the file writes it.
    pub fn header(&self, column: usize) -> &str {
        self.headers.get(column).map(String::as_str).unwrap_or("")
    }

    pub fn matched(&self) -> usize {
        self.columns.iter().filter(|c| c.is_some()).count()
    }
}

/// Alias key → (field, priority), built once per schema.
fn alias_index(schema: &'static Schema) -> &'static HashMap<String, (usize, usize)> {
    schema.index.get_or_init(|| {
        let mut map = HashMap::new();
        for (field, spec) in schema.fields.iter().enumerate() {
            let names = std::iter::once(spec.name).chain(spec.aliases.iter().copied());
            for (priority, alias) in names.enumerate() {
                map.entry(header_key(alias)).or_insert((field, priority));
            }
        }
        map
    })
}

/// Matches one row of cells against the schema. `overrides` are `--map` pairs: the
/// named header is that field's column and the field's aliases are not consulted.
pub(crate) fn match_row(
    schema: &'static Schema,
    cells: &[&str],
    overrides: &[(usize, String)],
) -> HeaderMap {
    let index = alias_index(schema);
    let keys: Vec<String> = cells.iter().map(|c| header_key(c)).collect();
    let mut columns: Vec<Option<usize>> = vec![None; schema.fields.len()];
    let mut best_priority = vec![usize::MAX; schema.fields.len()];
    let mut taken = vec![false; cells.len()];
    for (field, header) in overrides {
        let want = header_key(header);
        if let Some(col) = keys.iter().position(|k| !k.is_empty() && *k == want) {
            columns[*field] = Some(col);
            best_priority[*field] = 0;
            taken[col] = true;
        }
    }
    let overridden: Vec<usize> = overrides.iter().map(|(f, _)| *f).collect();
    // A header that names one field only beside another header (`SeatCount` is the
    // target seats of a file that also has `CurrentSeatCount`).
    for rule in schema.contextual {
        let (alias, field, beside) = (header_key(rule.alias), rule.field, header_key(rule.beside));
        if overridden.contains(&field) || !keys.contains(&beside) {
            continue;
        }
        if let Some(col) = keys.iter().position(|k| *k == alias)
            && !taken[col]
        {
            columns[field] = Some(col);
            best_priority[field] = 0;
            taken[col] = true;
        }
    }
    let mut also = Vec::new();
    for (col, key) in keys.iter().enumerate() {
        if taken[col] || key.is_empty() {
            continue;
        }
        if let Some(&(field, priority)) = index.get(key)
            && !overridden.contains(&field)
        {
            if priority < best_priority[field] {
                if let Some(previous) = columns[field] {
                    also.push((field, previous));
                }
                best_priority[field] = priority;
                columns[field] = Some(col);
            } else {
                also.push((field, col));
            }
        }
    }
    also.sort_unstable();
    HeaderMap {
        columns,
        headers: cells.iter().map(|c| c.trim().to_string()).collect(),
        also,
    }
}

/// Whether the matched columns cover every required group.
pub(crate) fn satisfies(schema: &Schema, map: &HeaderMap) -> bool {
    schema
        .required
        .iter()
        .all(|group| group.iter().any(|&f| map.columns[f].is_some()))
}

/// The required fields with their aliases, for "no header row" messages.
pub(crate) fn describe_required(schema: &Schema) -> String {
    schema
        .required
        .iter()
        .map(|group| {
            group
                .iter()
                .map(|&f| {
                    let spec = &schema.fields[f];
                    let shown: Vec<&str> = spec.aliases.iter().take(8).copied().collect();
                    format!("{} (e.g. {})", spec.name, shown.join(", "))
                })
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The required groups a map lacks, by field name.
pub(crate) fn missing_required(schema: &Schema, map: &HeaderMap) -> Vec<String> {
    schema
        .required
        .iter()
        .filter(|group| !group.iter().any(|&f| map.columns[f].is_some()))
        .map(|group| {
            group
                .iter()
                .map(|&f| schema.fields[f].name)
                .collect::<Vec<_>>()
                .join(" or ")
        })
        .collect()
}

/// Field indices of the input schema follow [`super::Field::ALL`].
pub(crate) static INPUT_SCHEMA: Schema = Schema {
    what: "customer export",
    fields: &[
        FieldSpec {
            name: "customer_id",
            aliases: &[
                "Customer ID",
                "Tenant ID",
                "Microsoft ID",
                "Customer tenant ID",
                "Customer Microsoft ID",
                "Customer tenant",
                "Tenant",
                "Tenant GUID",
                "Customer GUID",
                "Organization ID",
                "Org ID",
                "Directory ID",
                "Azure AD tenant ID",
                "AAD tenant ID",
                "Entra tenant ID",
                "Microsoft Entra tenant ID",
                "Entra ID tenant ID",
                "Customer tenant GUID",
                "Microsoft tenant ID",
                "MS tenant ID",
                "CustomerTenantId",
                "고객 ID",
                "고객ID",
                "테넌트 ID",
                "테넌트",
                "고객 테넌트 ID",
                "고객 Microsoft ID",
                "조직 ID",
                "디렉터리 ID",
                "디렉토리 ID",
                "Microsoft 고객 ID",
                "顧客 ID",
                "テナント ID",
                "テナント",
                "顧客テナント ID",
                "顧客 Microsoft ID",
                "組織 ID",
                "ディレクトリ ID",
                "お客様 ID",
                "お客様テナント ID",
            ],
        },
        FieldSpec {
            name: "domain",
            aliases: &[
                "Domain",
                "Primary domain",
                "Primary domain name",
                "Default domain",
                "Default domain name",
                "Domain name",
                "Customer domain",
                "Tenant domain",
                "Initial domain",
                "Company domain",
                "Verified domain",
                "Customer domain name",
                "Tenant domain name",
                "도메인",
                "도메인 이름",
                "도메인명",
                "기본 도메인",
                "기본 도메인 이름",
                "주 도메인",
                "고객 도메인",
                "초기 도메인",
                "ドメイン",
                "ドメイン名",
                "プライマリ ドメイン",
                "既定のドメイン",
                "主ドメイン",
                "初期ドメイン",
                "顧客ドメイン",
            ],
        },
        FieldSpec {
            name: "customer_name",
            aliases: &[
                "Customer name",
                "Customer",
                "Company",
                "Company name",
                "Organization",
                "Organization name",
                "Organisation name",
                "Account name",
                "Tenant name",
                "Customer display name",
                "End customer",
                "End customer name",
                "Client",
                "Client name",
                "Business name",
                "고객 이름",
                "고객명",
                "고객",
                "회사",
                "회사 이름",
                "회사명",
                "조직 이름",
                "조직명",
                "업체명",
                "거래처명",
                "고객사",
                "고객사명",
                "顧客名",
                "顧客",
                "お客様名",
                "会社名",
                "企業名",
                "組織名",
                "テナント名",
                "取引先名",
                "顧客企業名",
            ],
        },
        FieldSpec {
            name: "contact_email",
            aliases: &[
                "Email",
                "E-mail",
                "Email address",
                "Contact email",
                "Contact email address",
                "Contact e-mail",
                "Admin email",
                "Administrator email",
                "Primary contact email",
                "Billing contact email",
                "Notification email",
                "이메일",
                "이메일 주소",
                "전자 메일",
                "전자메일 주소",
                "담당자 이메일",
                "연락처 이메일",
                "관리자 이메일",
                "メール",
                "メールアドレス",
                "電子メール",
                "電子メール アドレス",
                "連絡先メールアドレス",
                "連絡先メール",
                "担当者メールアドレス",
                "管理者メールアドレス",
            ],
        },
        FieldSpec {
            name: "country",
            aliases: &[
                "Country",
                "Country/region",
                "Country or region",
                "Country code",
                "Region",
                "Billing country",
                "Market",
                "Customer country",
                "국가",
                "국가/지역",
                "국가 코드",
                "국가코드",
                "지역",
                "国",
                "国/地域",
                "国または地域",
                "国コード",
                "地域",
            ],
        },
        FieldSpec {
            name: "program",
            aliases: &[
                "Program",
                "Licensing program",
                "License program",
                "Agreement",
                "Agreement type",
                "Channel",
                "Purchase channel",
                "Licensing model",
                "Contract type",
                "Source program",
                "Current program",
                "라이선스 프로그램",
                "라이센스 프로그램",
                "프로그램",
                "계약 유형",
                "계약",
                "구매 채널",
                "ライセンス プログラム",
                "ライセンスプログラム",
                "プログラム",
                "契約",
                "契約種別",
                "契約の種類",
                "ライセンス形態",
                "購入チャネル",
            ],
        },
        FieldSpec {
            name: "current_offer",
            aliases: &[
                "Current offer",
                "Offer",
                "Offer name",
                "Product",
                "Product name",
                "Product title",
                "Subscription",
                "Subscription name",
                "SKU",
                "SKU name",
                "SKU title",
                "License name",
                "Existing offer",
                "Source offer",
                "Legacy offer",
                "Item",
                "Item name",
                "Product description",
                "Part number",
                "SKU part number",
                "Plan",
                "Legacy product name",
                "Current product name",
                "현재 제품",
                "제품",
                "제품 이름",
                "제품명",
                "현재 오퍼",
                "오퍼",
                "오퍼 이름",
                "구독",
                "구독 이름",
                "구독명",
                "라이선스 이름",
                "상품명",
                "품목",
                "품목명",
                "플랜",
                "현재 플랜",
                "プラン",
                "現在のプラン",
                "製品",
                "製品名",
                "商品名",
                "オファー",
                "オファー名",
                "現在のオファー",
                "サブスクリプション",
                "サブスクリプション名",
                "ライセンス名",
                "品目",
                "品名",
                "SKU名",
            ],
        },
        FieldSpec {
            name: "subscription_id",
            aliases: &[
                "Subscription ID",
                "Original subscription ID",
                "Commerce subscription ID",
                "Subscription number",
                "Current subscription ID",
                "Legacy subscription ID",
                "Vendor subscription ID",
                "Microsoft subscription ID",
                "구독 ID",
                "구독ID",
                "구독 번호",
                "원본 구독 ID",
                "サブスクリプション ID",
                "サブスクリプション番号",
                "元のサブスクリプション ID",
            ],
        },
        FieldSpec {
            name: "seats",
            aliases: &[
                "Seats",
                "Quantity",
                "Current seat count",
                "Qty",
                "Licenses",
                "Total licenses",
                "Purchased",
                "Purchased licenses",
                "Purchased quantity",
                "Licenses purchased",
                "Seat count",
                "Number of seats",
                "Number of licenses",
                "License count",
                "License quantity",
                "Users",
                "Number of users",
                "User count",
                "Prepaid units",
                "Enabled units",
                "Active units",
                "Units",
                "Total units",
                "Purchased units",
                "Current quantity",
                "Prepaid units enabled",
                "Licensed quantity",
                "사용자 수",
                "수량",
                "라이선스 수",
                "라이센스 수",
                "구매 수량",
                "구입한 라이선스",
                "구매한 라이선스",
                "총 라이선스",
                "전체 라이선스",
                "좌석 수",
                "시트 수",
                "라이선스 수량",
                "사용자수",
                "シート数",
                "数量",
                "ライセンス数",
                "購入数",
                "購入済みライセンス",
                "購入済み",
                "合計ライセンス数",
                "ライセンス合計",
                "ユーザー数",
                "購入数量",
                "有効ユニット数",
                "席数",
                "契約数",
                "ライセンス数量",
            ],
        },
        FieldSpec {
            name: "assigned",
            aliases: &[
                "Assigned",
                "Assigned licenses",
                "Licenses assigned",
                "Assigned quantity",
                "Consumed",
                "Consumed units",
                "Consumed licenses",
                "Used",
                "Used licenses",
                "In use",
                "Active users",
                "Assigned users",
                "할당됨",
                "할당된 라이선스",
                "할당 수",
                "할당",
                "사용 중",
                "사용된 라이선스",
                "사용 중인 라이선스",
                "할당된 사용자",
                "割り当て済み",
                "割り当て済みライセンス",
                "割り当て数",
                "割当済み",
                "割当数",
                "使用済み",
                "使用中",
                "使用数",
                "消費ユニット数",
            ],
        },
        FieldSpec {
            name: "expires_on",
            aliases: &[
                "End date",
                "Expiration date",
                "Expiration",
                "Expiry date",
                "Expiry",
                "Expires",
                "Expires on",
                "Expiration on",
                "Renewal date",
                "Next lifecycle date",
                "Next renewal date",
                "Subscription end date",
                "Term end date",
                "Commitment end date",
                "Agreement end date",
                "Valid until",
                "Renews on",
                "Term end",
                "End of term",
                "Contract end date",
                "License end date",
                "만료 날짜",
                "만료일",
                "만료",
                "종료일",
                "종료 날짜",
                "갱신 날짜",
                "갱신일",
                "구독 종료일",
                "다음 수명 주기 날짜",
                "계약 종료일",
                "유효 기간",
                "구독 만료일",
                "갱신 예정일",
                "라이선스 만료일",
                "有効期限",
                "有効期限日",
                "終了日",
                "期限",
                "更新日",
                "契約終了日",
                "サブスクリプション終了日",
                "次のライフサイクル日",
                "満了日",
                "有効期間終了日",
                "更新予定日",
                "契約満了日",
            ],
        },
        FieldSpec {
            name: "auto_renew",
            aliases: &[
                "Auto renew",
                "Auto-renew",
                "Autorenew",
                "Auto renewal",
                "Auto-renewal",
                "Auto renew enabled",
                "Autorenew enabled",
                "Automatic renewal",
                "Renews automatically",
                "Recurring billing",
                "Renewal",
                "자동 갱신",
                "자동갱신",
                "자동 갱신 여부",
                "정기 청구",
                "되풀이 청구",
                "自動更新",
                "自動更新の有無",
                "定期請求",
                "定期的な請求",
                "自動継続",
            ],
        },
        FieldSpec {
            name: "target_offer",
            aliases: &[
                "Target offer",
                "New offer",
                "CSP offer",
                "Target product",
                "New product",
                "Destination offer",
                "Target SKU",
                "New SKU",
                "Migrate to",
                "Target offer ID",
                "New offer ID",
                "Target plan",
                "NcePsa",
                "NCE PSA",
                "NCE product",
                "NCE offer",
                "대상 제품",
                "새 제품",
                "대상 오퍼",
                "전환 제품",
                "CSP 제품",
                "이전 대상 제품",
                "移行先プラン",
                "移行先製品",
                "新しいプラン",
                "移行先オファー",
                "CSP プラン",
                "移行先",
            ],
        },
        FieldSpec {
            name: "target_seats",
            aliases: &[
                "Target seats",
                "New seats",
                "Target quantity",
                "New quantity",
                "CSP quantity",
                "Seats to provision",
                "Target licenses",
                "대상 사용자 수",
                "대상 수량",
                "새 수량",
                "대상 라이선스 수",
                "移行先シート数",
                "移行先数量",
                "新しい数量",
                "移行先ライセンス数",
            ],
        },
        FieldSpec {
            name: "relationship",
            aliases: &[
                "Relationship",
                "Reseller relationship",
                "Relationship status",
                "Relationship accepted",
                "Reseller relationship accepted",
                "Partner relationship",
                "Invitation accepted",
                "Invitation status",
                "재판매인 관계",
                "재판매인 관계 상태",
                "재판매 관계",
                "관계",
                "파트너 관계",
                "초대 수락",
                "再販業者関係",
                "再販業者との関係",
                "再販業者関係の状態",
                "パートナー関係",
                "関係",
                "招待承諾",
            ],
        },
        FieldSpec {
            name: "current_offer_id",
            aliases: &[
                "Offer ID",
                "Current offer ID",
                "Legacy offer ID",
                "Offer GUID",
                "Catalog item ID",
                "오퍼 ID",
                "제품 ID",
                "オファー ID",
                "製品 ID",
            ],
        },
        FieldSpec {
            name: "term",
            aliases: &[
                "Term",
                "Term duration",
                "Commitment",
                "Commitment term",
                "Term length",
                "Subscription term",
                "Term and billing cycle",
                "약정 기간",
                "약정",
                "구독 기간",
                "契約期間",
                "コミットメント期間",
                "サブスクリプション期間",
            ],
        },
        FieldSpec {
            name: "billing",
            aliases: &[
                "Billing",
                "Billing plan",
                "Billing frequency",
                "Billing cycle",
                "Billing cycle type",
                "Billing period",
                "청구 주기",
                "청구 빈도",
                "청구 계획",
                "결제 주기",
                "請求頻度",
                "請求サイクル",
                "請求プラン",
                "支払いサイクル",
                "課金サイクル",
            ],
        },
    ],
    required: &[&[0, 1], &[6, 15], &[8]],
    // The NCE Batch Migration Tool's subscriptions.csv: `CurrentSeatCount` is what the
    // customer has, `SeatCount` what is to be bought.
    contextual: &[Contextual {
        alias: "SeatCount",
        field: 13,
        beside: "CurrentSeatCount",
    }],
    index: OnceLock::new(),
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Field;

    fn field_of(header: &str) -> Option<&'static str> {
        let map = match_row(&INPUT_SCHEMA, &[header], &[]);
        map.columns
            .iter()
            .position(Option::is_some)
            .map(|f| INPUT_SCHEMA.fields[f].name)
    }

    #[test]
    fn schema_order_follows_field_all() {
        for (i, field) in Field::ALL.iter().enumerate() {
            assert_eq!(INPUT_SCHEMA.fields[i].name, field.as_str());
        }
    }

    #[test]
    fn no_alias_names_two_fields() {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for spec in INPUT_SCHEMA.fields {
            for alias in std::iter::once(&spec.name).chain(spec.aliases) {
                let key = header_key(alias);
                if let Some(other) = seen.insert(key.clone(), spec.name) {
                    assert_eq!(other, spec.name, "alias {alias:?} ({key}) names two fields");
                }
            }
        }
    }

    #[test]
    fn docs_list_every_alias() {
        let doc = include_str!("../../docs/input-format.md");
        for spec in INPUT_SCHEMA.fields {
            for alias in spec.aliases {
                assert!(
                    doc.contains(alias),
                    "docs/input-format.md lacks {alias:?} ({})",
                    spec.name
                );
            }
        }
    }

    #[test]
    fn keys_ignore_case_space_punctuation_and_width() {
        assert_eq!(header_key("Tenant ID"), "tenantid");
        assert_eq!(header_key("tenant_id"), "tenantid");
        assert_eq!(header_key("ＴＥＮＡＮＴ－ＩＤ"), "tenantid");
        assert_eq!(header_key(" テナント・ID "), "テナントid");
        // Half-width katakana become full-width under NFKC.
        assert_eq!(header_key("ﾃﾅﾝﾄ ID"), "テナントid");
    }

    #[test]
    fn english_korean_japanese_headers() {
        for (header, field) in [
            ("Customer ID", "customer_id"),
            ("Microsoft ID", "customer_id"),
            ("CustomerTenantId", "customer_id"),
            ("CustomerDomainName", "domain"),
            ("PrepaidUnits.Enabled", "seats"),
            ("ConsumedUnits", "assigned"),
            ("CommitmentEndDate", "expires_on"),
            ("AutoRenewEnabled", "auto_renew"),
            ("skuPartNumber", "current_offer"),
            ("契約数", "seats"),
            ("구독 만료일", "expires_on"),
            ("Customer Tenant ID", "customer_id"),
            ("Organization ID", "customer_id"),
            ("고객 ID", "customer_id"),
            ("テナント ID", "customer_id"),
            ("ﾃﾅﾝﾄ ID", "customer_id"),
            ("Default domain", "domain"),
            ("Primary domain name", "domain"),
            ("기본 도메인", "domain"),
            ("ドメイン名", "domain"),
            ("Company", "customer_name"),
            ("会社名", "customer_name"),
            ("고객사명", "customer_name"),
            ("E-mail", "contact_email"),
            ("メールアドレス", "contact_email"),
            ("Country/Region", "country"),
            ("국가", "country"),
            ("Licensing Program", "program"),
            ("ライセンス プログラム", "program"),
            ("Product name", "current_offer"),
            ("SKU", "current_offer"),
            ("Subscription", "current_offer"),
            ("제품", "current_offer"),
            ("プラン", "current_offer"),
            ("Subscription ID", "subscription_id"),
            ("サブスクリプション ID", "subscription_id"),
            ("Quantity", "seats"),
            ("Total licenses", "seats"),
            ("Purchased", "seats"),
            ("사용자 수", "seats"),
            ("シート数", "seats"),
            ("ＳＥＡＴＳ", "seats"),
            ("Assigned licenses", "assigned"),
            ("Consumed units", "assigned"),
            ("할당됨", "assigned"),
            ("割り当て済み", "assigned"),
            ("End date", "expires_on"),
            ("Next lifecycle date", "expires_on"),
            ("Expiration", "expires_on"),
            ("Renewal date", "expires_on"),
            ("만료 날짜", "expires_on"),
            ("有効期限", "expires_on"),
            ("Auto-renew", "auto_renew"),
            ("Recurring billing", "auto_renew"),
            ("자동 갱신", "auto_renew"),
            ("自動更新", "auto_renew"),
            ("New offer", "target_offer"),
            ("移行先プラン", "target_offer"),
            ("대상 사용자 수", "target_seats"),
            ("Reseller relationship", "relationship"),
            ("재판매인 관계", "relationship"),
            ("再販業者関係", "relationship"),
        ] {
            assert_eq!(field_of(header), Some(field), "{header}");
        }
        assert_eq!(field_of("Notes"), None);
        assert_eq!(field_of("Subscription status"), None);
    }

    #[test]
    fn first_listed_alias_wins_then_leftmost() {
        let map = match_row(
            &INPUT_SCHEMA,
            &["SKU", "Product name", "Domain", "Qty"],
            &[],
        );
        assert_eq!(map.column(Field::CurrentOffer as usize), Some(1));
        assert!(satisfies(&INPUT_SCHEMA, &map));
    }

    #[test]
    fn map_overrides_aliases() {
        let overrides = vec![(Field::Seats as usize, "Lizenzen".to_string())];
        let map = match_row(
            &INPUT_SCHEMA,
            &["Domain", "Offer", "Quantity", "LIZENZEN"],
            &overrides,
        );
        assert_eq!(map.column(Field::Seats as usize), Some(3));
        assert_eq!(map.header(3), "LIZENZEN");
    }

    #[test]
    fn required_groups() {
        let map = match_row(&INPUT_SCHEMA, &["Offer", "Seats"], &[]);
        assert!(!satisfies(&INPUT_SCHEMA, &map));
        assert_eq!(
            missing_required(&INPUT_SCHEMA, &map),
            vec!["customer_id or domain"]
        );
    }
}
