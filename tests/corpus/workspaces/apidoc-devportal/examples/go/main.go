// notes: 0
package main

import (
	"context"
	"fmt"
	"log"
	"os"

	parcelwise "github.com/parcelwise/parcelwise-go"
)

func main() {
	client := parcelwise.NewClient(os.Getenv("PARCELWISE_API_KEY"),
		parcelwise.WithBaseURL("https://sandbox.parcelwise.example/v2"))

	rates, err := client.Rates.Create(context.Background(), &parcelwise.RateRequest{
		From:   parcelwise.Address{PostalCode: "10115", Country: "DE"},
		To:     parcelwise.Address{PostalCode: "75001", Country: "FR"},
		Parcel: parcelwise.Parcel{WeightG: 1200, LengthCm: 30, WidthCm: 20, HeightCm: 10},
	})
	if err != nil {
		log.Fatalf("quote rates: %v", err)
	}
	for _, r := range rates.Data {
		fmt.Printf("%s %s: %s %s\n", r.Carrier, r.Service, r.Amount, r.Currency)
	}
}
