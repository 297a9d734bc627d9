use serde_json::json;
use wiremock::ResponseTemplate;

use crate::helpers::{ACCOUNT, TestZoho, fixture, json, zoho};

#[tokio::test]
async fn list_accounts_shows_ids_addresses_and_the_primary_one() {
    let zm = TestZoho::start().await;
    zm.expect(zoho("GET", "/api/accounts"), json("accounts"))
        .await;

    let out = zm.ok("list_accounts", json!({})).await;

    assert_eq!(
        out.structured,
        json!({"accounts": [{
            "account_id": ACCOUNT,
            "display_name": "Rebecca Anderson",
            "email": "rebecca@zylker.com",
            "mailbox_address": "rebecca@zylker.com",
            "addresses": ["rebecca@zylker.com", "support@zylker.com"],
            "send_from_addresses": ["rebecca@zylker.com"],
            "is_primary": true,
            "status": "enabled"
        }]})
    );
    assert_eq!(
        out.text,
        "1 Zoho Mail account(s): rebecca@zylker.com (primary)"
    );
}

#[tokio::test]
async fn list_folders_of_a_given_account_needs_no_lookup() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("GET", &format!("/api/accounts/{ACCOUNT}/folders")),
        json("folders"),
    )
    .await;

    let out = zm.ok("list_folders", json!({"account_id": ACCOUNT})).await;

    let folders = out.structured["folders"].as_array().unwrap();
    assert_eq!(out.structured["account_id"], ACCOUNT);
    assert_eq!(folders.len(), 6);
    assert_eq!(
        folders[0],
        json!({"folder_id": "2560636000000008014", "name": "Inbox", "path": "/Inbox", "type": "Inbox"})
    );
    // Zoho answers some ids as JSON numbers: they come out as strings all the same.
    assert_eq!(folders[5]["folder_id"], "2560636000000009001");
    assert_eq!(
        out.text,
        "6 folders: Inbox, Drafts, Templates, Sent, Trash, Projects"
    );
}

#[tokio::test]
async fn without_an_account_id_the_primary_account_is_looked_up_once() {
    let zm = TestZoho::start().await;
    zm.expect_account_lookup().await;
    zm.expect(
        zoho("GET", &format!("/api/accounts/{ACCOUNT}/folders")),
        json("folders"),
    )
    .await;

    let out = zm.ok("list_folders", json!({})).await;
    assert_eq!(out.structured["account_id"], ACCOUNT);
}

#[tokio::test]
async fn the_primary_account_is_the_default_one_not_the_first() {
    let zm = TestZoho::start().await;
    let mut accounts = fixture("accounts");
    let mut shared = accounts["data"][0].clone();
    shared["accountId"] = json!("2560636000000007777");
    shared["isDefaultAccount"] = json!(false);
    shared["primaryEmailAddress"] = json!("team@zylker.com");
    accounts["data"] = json!([shared, accounts["data"][0]]);
    zm.expect(
        zoho("GET", "/api/accounts"),
        ResponseTemplate::new(200).set_body_json(accounts),
    )
    .await;
    zm.expect(
        zoho("GET", &format!("/api/accounts/{ACCOUNT}/folders")),
        json("folders"),
    )
    .await;

    let out = zm.ok("list_folders", json!({})).await;
    assert_eq!(out.structured["account_id"], ACCOUNT);
}

#[tokio::test]
async fn a_user_without_mail_accounts_is_told_so() {
    let zm = TestZoho::start().await;
    zm.expect(
        zoho("GET", "/api/accounts"),
        ResponseTemplate::new(200)
            .set_body_json(json!({"status": {"code": 200, "description": "success"}, "data": []})),
    )
    .await;

    let err = zm.call("list_folders", json!({})).await.unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert!(err.to_string().contains("no mail account"), "{err}");
}
