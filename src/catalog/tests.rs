//! Unit tests of the catalog: the built-in table, resolution in every form, ambiguity,
//! extension and override, and the `--catalog` readers.

use std::path::PathBuf;

use super::*;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

const ENTERPRISEPACK: &str = "6fd2c87f-b296-42f0-b197-1e91e994b900";

/// The part number a text resolves to, and the ID of the offer it stands for.
fn resolved(catalog: &Catalog, text: &str) -> (String, Option<String>) {
    let hit = catalog
        .resolve(text, None)
        .hit()
        .unwrap_or_else(|| panic!("{text:?} does not resolve"));
    let product = catalog.product(hit.product);
    (
        product.sku_part_number.clone().unwrap(),
        catalog.offer(hit).map(|o| o.id.clone()),
    )
}

#[test]
fn the_builtin_table_reads_and_every_licence_has_its_facts() {
    let c = Catalog::builtin();
    assert!(c.len() >= 40, "{}", c.len());
    for p in c.products() {
        let sku = p
            .sku_id
            .as_deref()
            .expect("every built-in product has a skuId");
        assert!(uuid::Uuid::try_parse(sku).is_ok(), "{sku}");
        assert_eq!(sku, sku.to_ascii_lowercase());
        assert!(p.sku_part_number.is_some(), "{}", p.name);
        for o in &p.offers {
            assert_ne!(o.kind, OfferKind::Other, "{}", o.id);
        }
    }
    // The eleven licences of new-commerce.csv are sold in new commerce.
    let nce = c
        .products()
        .iter()
        .filter(|p| p.sold_in_new_commerce())
        .count();
    assert_eq!(nce, 11);
    let e3 = &c.products()[c.resolve("ENTERPRISEPACK", None).hit().unwrap().product as usize];
    assert_eq!(e3.name, "Office 365 E3");
    assert_eq!(e3.new_commerce_id(), Some("CFQ7TTC0LF8R:0001"));
    assert_eq!(
        e3.legacy_offer_ids().collect::<Vec<_>>(),
        vec!["796B6B5F-613C-4E24-A17C-EBA730D49C02"]
    );
    assert!(
        e3.former_names
            .contains(&"Office 365 Enterprise E3".to_string())
    );
    let basic = c.resolve("O365_BUSINESS_ESSENTIALS", None).hit().unwrap();
    assert_eq!(c.offer(basic).unwrap().max_quantity, Some(300));
}

#[test]
fn every_form_of_a_product_resolves_to_its_licence() {
    let c = Catalog::builtin();
    let nce = Some("CFQ7TTC0LF8R:0001".to_string());
    let legacy = Some("796B6B5F-613C-4E24-A17C-EBA730D49C02".to_string());
    for (text, offer) in [
        ("Office 365 E3", &nce),
        ("office365 e3", &nce),
        ("Ｏｆｆｉｃｅ　３６５　Ｅ３", &nce),
        ("ENTERPRISEPACK", &nce),
        ("enterprise-pack", &nce),
        (ENTERPRISEPACK, &nce),
        ("6FD2C87F-B296-42F0-B197-1E91E994B900", &nce),
        ("CFQ7TTC0LF8R:0001", &nce),
        ("cfq7ttc0lf8r:0001:CFQ7TTC0KCSV", &nce),
        ("Office 365 Enterprise E3", &legacy),
        ("Microsoft Office 365 (Plan E3)", &legacy),
        ("796b6b5f-613c-4e24-a17c-eba730d49c02", &legacy),
    ] {
        assert_eq!(
            resolved(c, text),
            ("ENTERPRISEPACK".to_string(), offer.clone()),
            "{text}"
        );
    }
    assert_eq!(
        resolved(c, "Azure Active Directory Premium P1").0,
        "AAD_PREMIUM"
    );
    assert_eq!(
        resolved(c, "Office 365 Business Premium").0,
        "O365_BUSINESS_PREMIUM"
    );
    assert_eq!(resolved(c, "Microsoft 365 F1").0, "SPE_F1");
    assert_eq!(c.resolve("Contoso Special", None), Resolution::Unknown);
    assert_eq!(c.resolve("", None), Resolution::Unknown);
    assert_eq!(
        c.resolve("00000000-0000-0000-0000-000000000000", None),
        Resolution::Unknown
    );
}

#[test]
fn a_shared_name_prefers_the_licence_new_commerce_sells_else_is_ambiguous() {
    let c = Catalog::builtin();
    // O365_BUSINESS_ESSENTIALS and the prepaid SMB_BUSINESS_ESSENTIALS share the name.
    assert_eq!(
        resolved(c, "Microsoft 365 Business Basic"),
        (
            "O365_BUSINESS_ESSENTIALS".into(),
            Some("CFQ7TTC0LH18:0001".into())
        )
    );
    let Resolution::Ambiguous(a) = c.resolve("Visio Plan 1", None) else {
        panic!("Visio Plan 1 is two licences");
    };
    let parts: Vec<&str> = c
        .ambiguity(a)
        .iter()
        .map(|&p| c.product(p).sku_part_number.as_deref().unwrap())
        .collect();
    assert_eq!(parts, vec!["VISIOONLINE_PLAN1", "VISIO_PLAN1_DEPT"]);
    // Its part numbers are not ambiguous.
    assert_eq!(resolved(c, "VISIO_PLAN1_DEPT").0, "VISIO_PLAN1_DEPT");
}

#[test]
fn rows_override_and_extend_and_read_back_to_the_same_catalog() {
    let mut c = Catalog::builtin().clone();
    c.extend([
        // Known offer: new bounds and a country.
        CatalogRow {
            offer_id: Some("cfq7ttc0lf8r:0001".into()),
            offer_name: "Office 365 E3".into(),
            sku_id: Some(ENTERPRISEPACK.to_uppercase()),
            max_quantity: Some(50),
            ..CatalogRow::default()
        },
        // A new product.
        CatalogRow {
            offer_id: Some("CFQ7TTC0ZZZZ:0001".into()),
            offer_name: "Contoso Special".into(),
            sku_id: Some("11111111-2222-3333-4444-555555555555".into()),
            sku_part_number: Some("CONTOSO_SPECIAL".into()),
            ..CatalogRow::default()
        },
    ]);
    let hit = c.resolve("Office 365 E3", None).hit().unwrap();
    assert_eq!(c.offer(hit).unwrap().max_quantity, Some(50));
    assert_eq!(c.len(), Catalog::builtin().len() + 1);
    assert_eq!(resolved(&c, "contoso special").0, "CONTOSO_SPECIAL");

    let again = Catalog::from_rows(c.rows());
    assert_eq!(again.products(), c.products());
}

#[test]
fn offer_map_matches_any_form_on_either_side() {
    let c = Catalog::builtin();
    let map = OfferMap::new(
        vec![
            OfferMapEntry {
                from: "ENTERPRISEPACK".into(),
                to: "SPE_E3".into(),
            },
            OfferMapEntry {
                from: "Microsoft Office 365 (Plan E3)".into(),
                to: "ignored: the first entry of a product wins".into(),
            },
        ],
        c,
    );
    let product = |t: &str| c.resolve(t, None).hit().map(|h| h.product);
    for current in [
        "Office 365 Enterprise E3",
        "796B6B5F-613C-4E24-A17C-EBA730D49C02",
        "CFQ7TTC0LF8R:0001:CFQ7TTC0KCSV",
        "Office 365 E3",
    ] {
        let to = map.target_for(current, product(current));
        assert_eq!(to, Some("SPE_E3"), "{current}");
    }
    assert_eq!(
        map.target_for("Office 365 E1", product("Office 365 E1")),
        None
    );
}

#[test]
fn catalog_and_offer_map_files() {
    let rows = read_catalog(&fixtures().join("catalog.csv"), None).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0],
        CatalogRow {
            offer_id: Some("CFQ7TTC0LCHC:0002".into()),
            offer_name: "Microsoft 365 E3".into(),
            sku_id: Some("05e9a617-0261-4cee-bb44-138d3ef5d965".into()),
            sku_part_number: Some("SPE_E3".into()),
            min_quantity: Some(1),
            max_quantity: Some(300),
            country: Some("KR".into()),
            product_name: None,
            former_names: vec![],
        }
    );
    assert_eq!(rows[1].country, None);
    let map = read_offer_map(&fixtures().join("offer_map.csv"), None).unwrap();
    assert_eq!(
        map,
        vec![OfferMapEntry {
            from: "Office 365 E3".into(),
            to: "Microsoft 365 E3".into()
        }]
    );
    let err = read_catalog(&fixtures().join("catalog_bad_row.csv"), None)
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("catalog_bad_row.csv: row 2, column \"SKU ID\": \"not-a-guid\" is not a license SKU ID (a GUID)"), "{err}");
}

#[test]
fn microsofts_licensing_csv_is_recognised_by_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("licensing.csv");
    std::fs::write(
        &path,
        "\u{feff}Product_Display_Name,String_Id,GUID,Service_Plan_Name,Service_Plan_Id,Service_Plans_Included_Friendly_Names\n\
         Contoso Suite,CONTOSO_SUITE,aaaaaaaa-1111-2222-3333-444444444444,EXCHANGE_S_STANDARD,9aaf7827-d63c-4b61-89c3-182f06f82e5c,Exchange Online (Plan 1)\n\
         Contoso Suite,CONTOSO_SUITE,aaaaaaaa-1111-2222-3333-444444444444,SHAREPOINTSTANDARD,c7699d2e-19aa-44de-8edf-1736da088ca1,SharePoint (Plan 1)\n\
         Office 365 E3,ENTERPRISEPACK,6FD2C87F-B296-42F0-B197-1E91E994B900,EXCHANGE_S_ENTERPRISE,efb87545-963c-4e0d-99df-69c6916d9eb0,Exchange Online (Plan 2)\n",
    )
    .unwrap();
    let rows = read_catalog(&path, None).unwrap();
    assert_eq!(rows.len(), 2, "one licence per GUID: {rows:?}");
    assert_eq!(
        rows[0].sku_id.as_deref(),
        Some("aaaaaaaa-1111-2222-3333-444444444444")
    );
    assert_eq!(rows[0].offer_id, None);
    let mut c = Catalog::builtin().clone();
    c.extend(rows);
    assert_eq!(c.len(), Catalog::builtin().len() + 1);
    assert_eq!(
        resolved(&c, "CONTOSO_SUITE"),
        ("CONTOSO_SUITE".into(), None)
    );
    // A known licence keeps its offers.
    assert_eq!(
        resolved(&c, "Office 365 E3").1.as_deref(),
        Some("CFQ7TTC0LF8R:0001")
    );
}
