"""Every top-level field Intuit's v3 schema (Finance.xsd and IntuitBaseTypes.xsd) defines for the
entities served here, and every key of a transaction `Line`: QBO accepts any of them in a write body.

A field the sandbox models is declared by its entity (`writable` or `read_only`); the others are
accepted and not kept, as QBO itself drops the Desktop-only and other regions' fields. A name
outside these lists is refused (2010), as QBO refuses an unknown property.
"""

from __future__ import annotations

from collections.abc import Mapping


def _names(*groups: str) -> frozenset[str]:
    return frozenset(name for group in groups for name in group.split())


_ENTITY = "Id SyncToken MetaData domain status sparse CustomField AttachableRef"
"""IntuitEntity: every entity."""

_NAME_BASE = """
    IntuitId Organization Title GivenName MiddleName FamilyName Suffix FullyQualifiedName
    CompanyName DisplayName PrintOnCheckName UserId Active V4IDPseudonym PrimaryPhone
    AlternatePhone Mobile Fax PrimaryEmailAddr WebAddr OtherContactInfo DefaultTaxCodeRef
"""
"""NameBase: Customer, Vendor, Employee."""

_TRANSACTION = """
    DocNumber TxnDate DepartmentRef CurrencyRef ExchangeRate PrivateNote TxnStatus LinkedTxn Line
    TxnTaxDetail TxnSource TaxFormType TaxFormNum TransactionLocationType Tag TxnApprovalInfo
    RecurDataRef RecurringInfo ProjectRef TotalCostAmount HomeTotalCostAmount
"""

_SALES_TRANSACTION = """
    AutoDocNumber CustomerRef CustomerMemo BillAddr ShipAddr FreeFormAddress ShipFromAddr
    RemitToRef ClassRef SalesTermRef DueDate SalesRepRef PONumber FOB ShipMethodRef ShipDate
    TrackingNum GlobalTaxCalculation TotalAmt HomeTotalAmt ApplyTaxAfterDiscount
    ShippingTaxIncludedInTotalTax TemplateRef PrintStatus EmailStatus BillEmail BillEmailCc
    BillEmailBcc ARAccountRef Balance HomeBalance FinanceCharge PaymentMethodRef PaymentRefNum
    PaymentType CheckPayment CreditCardPayment DepositToAccountRef DeliveryInfo DiscountRate
    DiscountAmt GovtTxnRefIdentifier TaxExemptionRef
"""
"""SalesTransaction: Invoice, CreditMemo, RefundReceipt."""

SCHEMA_FIELDS: Mapping[str, frozenset[str]] = {
    "Customer": _names(
        _ENTITY,
        _NAME_BASE,
        """
        Taxable BillAddr ShipAddr OtherAddr ContactName AltContactName Notes Job BillWithParent
        RootCustomerRef ParentRef Level CustomerTypeRef SalesTermRef SalesRepRef TaxGroupCodeRef
        TaxRateRef PaymentMethodRef CCDetail PriceLevelRef Balance OpenBalanceDate BalanceWithJobs
        CreditLimit AcctNum CurrencyRef OverDueBalance TotalRevenue TotalExpense
        PreferredDeliveryMethod ResaleNum JobInfo TDSEnabled CustomerEx SecondaryTaxIdentifier
        ARAccountRef PrimaryTaxIdentifier TaxExemptionReasonId IsProject BusinessNumber GSTIN
        GSTRegistrationType IsCISContractor ClientCompanyId ClientEntityId Source TaxRegime
        """,
    ),
    "Vendor": _names(
        _ENTITY,
        _NAME_BASE,
        """
        ContactName AltContactName Notes BillAddr ShipAddr OtherAddr TaxCountry TaxIdentifier
        TaxIdEffectiveDate BusinessNumber ParentRef VendorTypeRef TermRef PrefillAccountRef Balance
        BillRate OpenBalanceDate CreditLimit AcctNum Vendor1099 T4AEligible T5018Eligible
        CurrencyRef TDSEnabled TDSEntityTypeId TDSSectionTypeId TDSOverrideThreshold
        TaxReportingBasis APAccountRef VendorEx GSTIN GSTRegistrationType IsSubContractor
        SubcontractorType CISRate HasTPAR VendorPaymentBankDetail Source CostRate
        """,
    ),
    "Employee": _names(
        _ENTITY,
        _NAME_BASE,
        """
        EmployeeType EmployeeNumber SSN PrimaryAddr OtherAddr BillableTime BillRate BirthDate
        Gender HiredDate ReleasedDate UseTimeEntry EmployeeEx CostRate Notes
        """,
    ),
    "Item": _names(
        _ENTITY,
        """
        Name Sku Description Active SubItem ParentRef Level FullyQualifiedName Taxable
        SalesTaxIncluded PercentBased UnitPrice RatePercent Type PaymentMethodRef UOMSetRef
        IncomeAccountRef PurchaseDesc PurchaseTaxIncluded PurchaseCost ExpenseAccountRef
        COGSAccountRef AssetAccountRef PrefVendorRef AvgCost TrackQtyOnHand QtyOnHand
        QtyOnPurchaseOrder QtyOnSalesOrder ReorderPoint ManPartNum DepositToAccountRef
        SalesTaxCodeRef PurchaseTaxCodeRef InvStartDate BuildPoint PrintGroupedItems SpecialItem
        SpecialItemType ItemGroupDetail ItemAssemblyDetail AbatementRate ReverseChargeRate
        ServiceType ItemCategoryType ItemEx TaxClassificationRef UQCDisplayText UQCId ClassRef
        Source DeferredRevenue
        """,
    ),
    "Account": _names(
        _ENTITY,
        """
        Name SubAccount ParentRef Description FullyQualifiedName AccountAlias TxnLocationType
        Active Classification AccountType AccountSubType AccountPurposes AcctNum AcctNumExtn
        BankNum OpeningBalance OpeningBalanceDate CurrentBalance CurrentBalanceWithSubAccounts
        CurrencyRef TaxAccount TaxCodeRef OnlineBankingEnabled FIName JournalCodeRef AccountEx
        """,
    ),
    "Invoice": _names(
        _ENTITY,
        _TRANSACTION,
        _SALES_TRANSACTION,
        """
        Deposit AllowIPNPayment AllowOnlinePayment AllowOnlineCreditCardPayment
        AllowOnlineACHPayment AllowOnlinePayPalPayment EInvoiceStatus ECloudStatusTimeStamp CfdiUse
        Exportation GlobalInfo invoiceStatus callToAction invoiceStatusLog InvoiceEx LessCIS
        InvoiceLink PaymentDetailsMessage ConvenienceFeeDetail InvoiceLinkSecurityCode
        InvoiceLinkExpiryDate AutoPayEligible SchedulePayEligible ScheduledPaymentId
        GratuityEnabled FinancingProductType SubscriptionPaymentsSetting
        """,
    ),
    "Payment": _names(
        _ENTITY,
        _TRANSACTION,
        """
        CustomerRef RemitToRef ARAccountRef DepositToAccountRef PaymentMethodRef PaymentRefNum
        PaymentType CheckPayment CreditCardPayment TotalAmt UnappliedAmt ProcessPayment PaymentEx
        """,
    ),
    "RefundReceipt": _names(
        _ENTITY, _TRANSACTION, _SALES_TRANSACTION, "RemainingCredit RefundReceiptEx"
    ),
    "CreditMemo": _names(
        _ENTITY, _TRANSACTION, _SALES_TRANSACTION, "RemainingCredit InvoiceRef CreditMemoEx"
    ),
    "JournalEntry": _names(
        _ENTITY,
        _TRANSACTION,
        """
        Adjustment HomeCurrencyAdjustment EnteredInHomeCurrency GlobalTaxCalculation TotalAmt
        HomeTotalAmt JournalEntryEx
        """,
    ),
    "Deposit": _names(
        _ENTITY,
        _TRANSACTION,
        "DepositToAccountRef CashBack GlobalTaxCalculation TotalAmt HomeTotalAmt DepositEx",
    ),
    "CompanyInfo": _names(
        _ENTITY,
        """
        CompanyName LegalName CompanyAddr CustomerCommunicationAddr LegalAddr CompanyEmailAddr
        CustomerCommunicationEmailAddr CompanyURL PrimaryPhone OtherContactInfo CompanyFileName
        FlavorStratum SampleFile CompanyUserId CompanyUserAdminEmail CompanyStartDate EmployerId
        FiscalYearStartMonth TaxYearStartMonth QBVersion Country ShipAddr OtherAddr Mobile Fax
        Email WebAddr LastImportedTime LastSyncTime SupportedLanguages DefaultTimeZone
        MultiByteCharsSupported NameValue FifoCalculationStatus CompanyInfoEx
        """,
    ),
}
"""Entity name → the property names Intuit's schema gives it (Preferences is not listed: the
sandbox declares its few sections itself)."""

LINE_FIELDS = _names(
    """
    Id LineNum Description Amount Received LinkedTxn DetailType PaymentLineDetail
    DiscountLineDetail TaxLineDetail SalesItemLineDetail DescriptionLineDetail
    ItemBasedExpenseLineDetail AccountBasedExpenseLineDetail ReimburseLineDetail DepositLineDetail
    PurchaseOrderItemLineDetail SalesOrderItemLineDetail ItemReceiptLineDetail
    JournalEntryLineDetail GroupLineDetail SubTotalLineDetail TDSLineDetail
    ItemAdjustmentLineDetail CustomField LineEx ProjectRef CostAmount HomeCostAmount
    """
)
"""Every key a transaction line may carry; its `DetailType` says which detail counts."""


def in_schema(entity: str, name: str) -> bool:
    """Whether Intuit's schema defines `name` on `entity` (then QBO accepts it in a body)."""
    return name in SCHEMA_FIELDS.get(entity, frozenset())
